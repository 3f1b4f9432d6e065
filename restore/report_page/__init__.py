"""The HTML report's page (``restore.report_html``): its template, style and script."""
