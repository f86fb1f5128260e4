"""``rnnkit serve``: trained models behind a JSON and server-sent-events HTTP API.

Starlette + uvicorn (the ``serve`` extra), imported only here. ``app.build_app`` makes the ASGI
application from loaded predictors; ``batching`` groups concurrent requests to one model into
padded batches; ``scheduler`` runs generation streams with continuous batching on the model's
worker thread and ``streaming`` writes them as server-sent events; ``server.serve`` runs it all
under uvicorn.
"""
