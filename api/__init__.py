"""The FastAPI service over the qa_engine library: routers per resource, SQLAlchemy storage, API-key auth."""
