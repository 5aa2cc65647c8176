"""The README's picture of the report, taken from a real run so that it stays true: headless Chromium (Debian's,
driven by Playwright) opens reports/<run>/index.html at 1280 × 860 and saves docs/report.png; with ``--cell`` it
opens that cell's link (``model/runtime/device``) instead and pictures the cell with its cases.

    tox exec -e tests -- python bench/report_screenshot.py [--report reports/latest] [--output docs/report.png]
                                                            [--cell text_embed/tf2.21/cpu]
"""
import argparse
import os
import sys
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--report", default=os.path.join(ROOT, "reports", "latest"))
    parser.add_argument("--output", default=os.path.join(ROOT, "docs", "report.png"))
    parser.add_argument("--cell", default=None, help="model/runtime/device: picture this cell opened")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=860)
    args = parser.parse_args()
    page = os.path.abspath(os.path.join(args.report, "index.html"))
    if not os.path.isfile(page):
        print("report_screenshot: %s: no report (run `tox -p` first)" % page, file=sys.stderr)
        return 2
    sys.path.insert(0, ROOT)
    from conformance import chromium
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium.ensure(), args=FLAGS)
        tab = browser.new_page(viewport={"width": args.width, "height": args.height})
        tab.goto("file://" + page + ("#cell=" + urllib.parse.quote(args.cell, safe="") if args.cell else ""))
        tab.wait_for_load_state("load")
        tab.screenshot(path=args.output)
        browser.close()
    print("report_screenshot: %s (%s%s, %d kB)" % (os.path.relpath(args.output, ROOT), os.path.relpath(page, ROOT),
                                                   " #cell=" + args.cell if args.cell else "",
                                                   os.path.getsize(args.output) // 1024))
    return 0


if __name__ == "__main__":
    sys.exit(main())
