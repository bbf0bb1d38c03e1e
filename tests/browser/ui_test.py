"""The pages for people in a real browser: headless Chromium through chromedriver.

Usage: python ui_test.py BASE_URL [--screenshots DIR]

Checks, against a running `mlops serve` at BASE_URL (run.sh starts one):
  * `/` loads with no console message of level SEVERE and no request outside BASE_URL;
  * the card shows the model's name (from /model) and each of its classes;
  * submitting the form, prefilled with the model's first golden row, shows the class
    the trainer predicted for it, with one probability bar per class;
  * `/docs` lists POST /predict, and executing its prefilled example answers 200,
    again with no console error and no request outside BASE_URL.
With --screenshots, saves DIR/model-card.png and DIR/api-docs.png at 1280x800.
Exits non-zero, saying what failed, on the first failed check.
"""

import json
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

WAIT_S = 30


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                "--window-size=1280,800", "--hide-scrollbars", "--force-device-scale-factor=1",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-default-apps"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    # An explicit driver path: Selenium Manager (which would download one) never runs.
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    # The viewport itself is 1280x800, whatever the window's frame takes.
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False})
    return driver


def fail(message):
    raise SystemExit(f"browser test FAILED: {message}")


def check(condition, message):
    if not condition:
        fail(message)
    print(f"ok: {message}")


def requested_urls(driver):
    """The URLs the page asked for since the last call (from the performance log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def check_clean(driver, base, page):
    severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    check(not severe, f"{page}: no console error ({severe})")
    outside = [u for u in requested_urls(driver)
               if not (u.startswith(base + "/") or u == base or u.startswith("data:"))]
    check(not outside, f"{page}: no request outside the server ({outside})")


def card(driver, base, shots):
    model = json.load(urllib.request.urlopen(base + "/model"))
    meta = model["metadata"]
    driver.get(base + "/")
    WebDriverWait(driver, WAIT_S).until(ec.presence_of_element_located((By.ID, "try")))
    check(driver.find_element(By.TAG_NAME, "h1").text == meta["name"],
          f"the card is titled with the model's name {meta['name']!r}")
    shown = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#classes .class")]
    check(shown == meta["classes"], f"the card lists each class {meta['classes']}")
    if shots:
        driver.save_screenshot(f"{shots}/model-card.png")
    expected = driver.find_element(By.ID, "expected").text
    check(expected in meta["classes"], f"the form names the golden row's class {expected!r}")
    driver.find_element(By.CSS_SELECTOR, "#try button[type=submit]").click()
    WebDriverWait(driver, WAIT_S).until(
        lambda d: d.find_element(By.ID, "prediction").text.strip() != "")
    predicted = driver.find_element(By.ID, "prediction").text
    check(predicted == expected, f"submitting the golden row shows {expected!r} (got {predicted!r})")
    bars = driver.find_elements(By.CSS_SELECTOR, "#probabilities meter")
    check(len(bars) == len(meta["classes"]), "one probability bar per class")
    check_clean(driver, base, "/")


def docs(driver, base, shots):
    driver.get(base + "/docs")
    wait = WebDriverWait(driver, WAIT_S)
    summary = wait.until(ec.element_to_be_clickable(
        (By.CSS_SELECTOR, "#operations-predict-predict .opblock-summary-control")))
    path = driver.find_element(By.CSS_SELECTOR, "#operations-predict-predict .opblock-summary-path")
    check(path.get_attribute("data-path") == "/predict", "/docs lists POST /predict")
    if shots:
        driver.save_screenshot(f"{shots}/api-docs.png")
    summary.click()
    execute = wait.until(ec.element_to_be_clickable(
        (By.CSS_SELECTOR, "#operations-predict-predict button.execute")))
    execute.click()
    status = wait.until(ec.presence_of_element_located(
        (By.CSS_SELECTOR, "#operations-predict-predict .live-responses-table tbody .response-col_status")))
    check(status.text.strip() == "200", f"executing POST /predict in /docs answers 200 (got {status.text!r})")
    check_clean(driver, base, "/docs")


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    base = sys.argv[1].rstrip("/")
    shots = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--screenshots" else None
    driver = browser()
    try:
        started = time.monotonic()
        card(driver, base, shots)
        docs(driver, base, shots)
        print(f"browser test: all checks passed in {time.monotonic() - started:.1f} s")
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
