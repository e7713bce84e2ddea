"""The FastAPI service (routers per resource) lives here; it is built on qa_engine.pipeline."""
