"""How the agents talk: the ``Method`` type and one LangGraph state machine per synthesis method.

``graphs.method`` defines what a method declares, ``graphs.common`` the graph pieces methods share,
``graphs.registry`` the plain dict of methods; every other module is one method, wiring only.
"""
