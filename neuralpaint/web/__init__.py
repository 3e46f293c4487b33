"""The studio: ``neuralpaint serve``, a local web page where a photo is painted while you watch.

``app.create_app(data, ...)`` is the FastAPI app (the page, the JSON API, server-sent progress);
``jobs.Studio`` the paintings on disk and their queue; ``runners`` what the queue runs (``paint``:
``batch.paint_file``, as ``neuralpaint paint``); ``options`` the form fields as ``paint``'s own
options; ``uploads`` the checks of an uploaded photo. Needs the ``web`` extra (FastAPI, uvicorn,
python-multipart); nothing here is imported by the rest of the package. See docs/web.md.
"""
