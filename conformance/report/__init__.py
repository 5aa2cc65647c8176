"""The conformance report: results.json (a wptreport-like schema), junit.xml, the run-to-run diff and
index.html, all from the observations of one or more runs. Plain Python + numpy + jinja2 + matplotlib."""
