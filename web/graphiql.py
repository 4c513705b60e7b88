"""GraphiQL at ``/graphql``, served entirely from this package.

The page loads React and GraphiQL's UMD builds from ``web/static/vendor/`` (filled by
``scripts/build-web.sh``, never from a CDN), and talks to the GraphQL endpoint with a
small fetcher that

* posts JSON with ``credentials: "same-origin"`` so the HttpOnly session cookie set by
  the ``login`` mutation is sent, and
* adds ``X-OMEGraph-CSRF: 1`` to every request (the server requires a custom header on
  cookie-authenticated POSTs, which a cross-site form or simple request cannot set).

The bootstrap script is a constant: the endpoint travels in a ``data-`` attribute, so
the page's Content-Security-Policy can allow exactly that script by hash and nothing
but same-origin resources.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from pathlib import Path
from typing import Final

__all__ = [
    "CSRF_HEADER",
    "GRAPHIQL_CSP",
    "STATIC_DIR",
    "VENDOR_DIR",
    "VENDOR_FILES",
    "graphiql_html",
    "vendor_ready",
]

STATIC_DIR: Final[Path] = Path(__file__).parent / "static"
"""Directory to mount at ``/static``; the GraphiQL assets live in its ``vendor/``."""

VENDOR_DIR: Final[Path] = STATIC_DIR / "vendor"

VENDOR_FILES: Final[tuple[str, ...]] = (
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphiql.min.js",
    "graphiql.min.css",
)
"""Files the page loads from the vendor directory (see ``scripts/build-web.sh``)."""

CSRF_HEADER: Final[str] = "X-OMEGraph-CSRF"
"""Custom header the page adds to every request; its value is ``"1"``."""

DEFAULT_QUERY: Final[str] = """\
# Welcome to OMEGraph.
#
# Log in first: uncomment the mutation below, fill in
# your username and password, and run it. It sets an
# HttpOnly session cookie that this page then sends
# with every request.
#
# mutation {
#   login(username: "...", password: "...") {
#     __typename
#     ... on LoginPayload {
#       expiresAt
#       user { username }
#     }
#   }
# }
#
# Then ask who you are:

{
  me {
    username
  }
}
"""

# The one script on the page. It reads its settings from #graphiql's data attributes
# and must stay free of interpolation so its CSP hash is a constant.
_BOOTSTRAP_JS: Final[str] = (
    """
(function () {
  "use strict";
  var root = document.getElementById("graphiql");
  if (typeof React === "undefined" || typeof ReactDOM === "undefined"
      || typeof GraphiQL === "undefined") {
    root.textContent = "GraphiQL's scripts did not load from " + root.dataset.staticPrefix
      + "/. Ask the administrator to run scripts/build-web.sh and to serve web/static"
      + " at /static.";
    root.className = "omegraph-message";
    return;
  }
  var endpoint = root.dataset.endpoint;
  var csrfHeader = root.dataset.csrfHeader;

  async function fetcher(params, opts) {
    var headers = Object.assign(
      {"Content-Type": "application/json", "Accept": "application/json"},
      (opts && opts.headers) || {}
    );
    headers[csrfHeader] = "1";
    var response = await fetch(endpoint, {
      method: "POST",
      credentials: "same-origin",
      headers: headers,
      body: JSON.stringify(params)
    });
    var text = await response.text();
    try {
      return JSON.parse(text);
    } catch (e) {
      return {errors: [{message: "HTTP " + response.status + " " + response.statusText
        + " (not JSON): " + text.slice(0, 2000)}]};
    }
  }

  ReactDOM.createRoot(root).render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    defaultQuery: """
    + json.dumps(DEFAULT_QUERY)
    + """,
    defaultEditorToolsVisibility: false
  }));
})();
"""
)

_BOOTSTRAP_SHA256: Final[str] = base64.b64encode(
    hashlib.sha256(_BOOTSTRAP_JS.encode("utf-8")).digest()
).decode("ascii")

# The page's own Content-Security-Policy, sent as a <meta> tag: browsers enforce it on top
# of any CSP header the app adds. Goes into an HTML attribute as is: keep it free of '"'
# and '&'.
GRAPHIQL_CSP: Final[str] = "; ".join(
    (
        "default-src 'none'",
        f"script-src 'self' 'sha256-{_BOOTSTRAP_SHA256}'",
        # GraphiQL and CodeMirror set inline style attributes.
        "style-src 'self' 'unsafe-inline'",
        # GraphiQL's CSS embeds its fonts and icons as data: URLs.
        "font-src 'self' data:",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
    )
)

_MISSING_CSP: Final[str] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

_PAGE_STYLE: Final[str] = """
html, body, #graphiql { height: 100%; margin: 0; }
.omegraph-message { font: 16px/1.5 system-ui, sans-serif; max-width: 46em;
  margin: 3em auto; padding: 0 1em; }
.omegraph-message code { font-size: 95%; }
"""


def vendor_ready(static_dir: Path) -> bool:
    """Whether ``static_dir/vendor`` holds every file the GraphiQL page loads."""
    vendor = static_dir / "vendor"
    return all((vendor / name).is_file() for name in VENDOR_FILES)


def _missing_vendor_html() -> str:
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{_MISSING_CSP}">
<title>OMEGraph GraphiQL: not built</title>
<link rel="icon" href="data:,">
<style>{_PAGE_STYLE}</style>
</head>
<body>
<div class="omegraph-message" id="graphiql-missing">
<h1>GraphiQL is not built</h1>
<p>The GraphQL API at this address works, but the browser assets of its GraphiQL
page are missing from the server's <code>web/static/vendor/</code> directory.</p>
<p>Administrator: run <code>scripts/build-web.sh</code> (it needs Node.js and npm),
then reload this page.</p>
</div>
</body>
</html>
"""


def graphiql_html(
    endpoint: str = "/graphql",
    static_prefix: str = "/static/vendor",
    *,
    static_dir: Path = STATIC_DIR,
) -> str:
    """The GraphiQL page for ``endpoint``, loading its assets from ``static_prefix``.

    ``static_prefix`` is the URL path where ``static_dir / "vendor"`` is served (same
    origin). When that directory lacks the vendored files, the page instead tells the
    administrator to run ``scripts/build-web.sh``.
    """
    if not vendor_ready(static_dir):
        return _missing_vendor_html()

    prefix = static_prefix.rstrip("/")

    def asset(name: str) -> str:
        return html.escape(f"{prefix}/{name}", quote=True)

    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{GRAPHIQL_CSP}">
<meta name="referrer" content="same-origin">
<title>OMEGraph GraphiQL</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{asset("graphiql.min.css")}">
<style>{_PAGE_STYLE}</style>
</head>
<body>
<div id="graphiql"
     data-endpoint="{html.escape(endpoint, quote=True)}"
     data-static-prefix="{html.escape(prefix, quote=True)}"
     data-csrf-header="{html.escape(CSRF_HEADER, quote=True)}">
<p class="omegraph-message">Loading GraphiQL&hellip;</p>
</div>
<noscript><p class="omegraph-message">GraphiQL needs JavaScript.</p></noscript>
<script src="{asset("react.production.min.js")}"></script>
<script src="{asset("react-dom.production.min.js")}"></script>
<script src="{asset("graphiql.min.js")}"></script>
<script>{_BOOTSTRAP_JS}</script>
</body>
</html>
"""
