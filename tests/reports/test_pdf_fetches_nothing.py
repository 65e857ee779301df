"""The PDF's layout fetches nothing but ``data:`` addresses: whatever markup reached the print
page (it should not: written text is a plain tree, :mod:`amniyat.reports.writing`), WeasyPrint
neither calls a server nor reads a file."""

from __future__ import annotations

import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from amniyat.reports import pdf


def test_the_layout_fetches_no_address_and_reads_no_file(tmp_path: Path) -> None:
    asked: list[str] = []

    class Counting(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Counting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    secret = tmp_path / "secret.css"
    secret.write_text("body { background: url(http://127.0.0.1/leak) }")
    address = f"http://127.0.0.1:{server.server_port}"
    html = (
        f'<link rel="stylesheet" href="{address}/style.css">'
        f'<link rel="stylesheet" href="file://{secret}">'
        f'<style>@import url("{address}/imported.css"); @font-face {{ font-family: x; '
        f'src: url("{address}/font.woff") }}</style>'
        f'<p style="background: url({address}/background.png)">Матн</p>'
        f'<img src="{address}/picture.png"><img src="file:///etc/passwd">'
        '<img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4'
        '2mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==">'
    )
    out = io.BytesIO()
    try:
        pdf.lay_out(html, out)
    finally:
        server.shutdown()
    assert out.getvalue().startswith(b"%PDF")
    assert asked == []
