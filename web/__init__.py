"""HTTP: Starlette routes, authentication middleware and the browser front end."""
