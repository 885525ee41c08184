def create_app(engine, auth=False):
    raise NotImplementedError
