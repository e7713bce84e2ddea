"""The web UI: server-rendered pages whose data the browser fetches from the JSON API with the session cookie."""
