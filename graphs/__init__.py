"""How the agents talk: one LangGraph state machine per synthesis method, the trace schema, the runner."""
