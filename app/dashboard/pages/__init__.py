"""One module per page (or family of pages), each exposing ``router = page_router()``;
``app.dashboard.router`` includes them."""
