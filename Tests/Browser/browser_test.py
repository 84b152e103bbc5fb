#!/usr/bin/env python3
"""The main flow in a real browser: headless Chromium (Debian's chromium + chromium-driver)
driven by Selenium. Starts `artworker serve` on a free port with a temporary data folder,
signs up, cartoonizes a photo, watches the progress, uses the before/after slider, downloads,
shares, finds the picture in the public gallery, checks the result page with scripting off,
adds a movie from frames and another from a colour file, looks at their palette pages and at
the result's nearest movie, and saves a screenshot of each step. Issue 14's flows too: checks
made in the browser, a drop onto the form, crop and rotate, the divider and the reveal modes,
rename, copy link, all four styles with their ZIP, bulk actions, likes without a reload;
accessibility checked with axe-core on every main page, and every page again on a phone.

    python browser_test.py --artworker .build/release/artworker --photo ../shared/testdata/photos/coffee.png \
        --screenshots .build-browser/screenshots --frames ../shared/testdata/photos/*.png \
        --csv ../shared/testdata/palettes/Paprika_BGR.csv
"""
import argparse
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile

from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait as SeleniumWait
from selenium.common.exceptions import StaleElementReferenceException


def WebDriverWait(driver, timeout):
    """A wait that also retries when the page it reads from was replaced meanwhile (a form
    posted, a redirect followed): an element found just before the new page arrived is stale."""
    return SeleniumWait(driver, timeout, ignored_exceptions=[StaleElementReferenceException])


def animated_gif(width, height, frames):
    """A GIF89a written by hand: stripes moving one pixel a frame, 10/100 s each, looping."""
    def lzw(pixels, min_code=2):
        # A clear code before every pixel keeps the code size at 3 bits: valid, if not small.
        size, bits, count, out = min_code + 1, 0, 0, bytearray()
        for code in [c for p in pixels for c in (1 << min_code, p)] + [(1 << min_code) + 1]:
            bits |= code << count
            count += size
            while count >= 8:
                out.append(bits & 0xFF)
                bits >>= 8
                count -= 8
        if count:
            out.append(bits & 0xFF)
        blocks = bytearray([min_code])
        for i in range(0, len(out), 255):
            blocks += bytes([len(out[i:i + 255])]) + out[i:i + 255]
        return bytes(blocks + b"\x00")
    data = bytearray(b"GIF89a") + struct.pack("<HHBBB", width, height, 0x81, 0, 0)
    data += bytes([20, 20, 60, 240, 200, 60, 60, 160, 240, 250, 250, 250])
    data += b"\x21\xFF\x0BNETSCAPE2.0\x03\x01\x00\x00\x00"
    for f in range(frames):
        data += b"\x21\xF9\x04\x04" + struct.pack("<H", 10) + b"\x00\x00"
        data += b"\x2C" + struct.pack("<HHHHB", 0, 0, width, height, 0)
        data += lzw([((x + f) // 4) % 4 for y in range(height) for x in range(width)])
    return bytes(data + b"\x3B")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def browser(scripting=True):
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000", "--disable-gpu"]:
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    if not scripting:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    return webdriver.Chrome(options=options, service=service)


class Flow:
    def __init__(self, base, shots):
        self.base, self.shots, self.step = base, shots, 0

    def shot(self, driver, name):
        self.step += 1
        path = os.path.join(self.shots, f"{self.step:02d}-{name}.png")
        driver.save_screenshot(path)
        print(f"  screenshot {path}")

    def page_shot(self, driver, name):
        """The whole page, not just the window."""
        width, height = driver.get_window_size()["width"], driver.get_window_size()["height"]
        driver.set_window_size(width, max(height, driver.execute_script("return document.documentElement.scrollHeight") + 120))
        self.shot(driver, name)
        driver.set_window_size(width, height)

    def check(self, condition, message):
        if not condition:
            raise AssertionError(message)
        print(f"  ok: {message}")


def loaded(driver, img):
    return driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", img)


def axe_source():
    """axe-core, as vendored by the axe-selenium-python package (tests only)."""
    import axe_selenium_python
    with open(os.path.join(os.path.dirname(axe_selenium_python.__file__), "node_modules", "axe-core", "axe.min.js")) as f:
        return f.read()


def axe_violations(driver, source):
    """Serious and critical WCAG 2 A/AA violations on the current page (contrast, names, roles)."""
    driver.execute_script(source)
    result = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}}).then(r => done(r.violations), e => done(String(e)));
    """)
    if isinstance(result, str):
        raise AssertionError("axe failed: " + result)
    return [f"{v['id']} ({v['impact']}): {v['help']} — " + "; ".join(n["target"][0] if isinstance(n["target"][0], str) else str(n["target"])
                                                                  for n in v["nodes"][:4])
            for v in result if v.get("impact") in ("serious", "critical")]


def wait_for_file(folder, count, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline and len([f for f in os.listdir(folder) if not f.endswith(".crdownload")]) < count:
        time.sleep(0.2)
    return sorted(f for f in os.listdir(folder) if not f.endswith(".crdownload"))


def console_errors(driver):
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--artworker", required=True)
    parser.add_argument("--photo", required=True)
    parser.add_argument("--screenshots", required=True)
    parser.add_argument("--frames", nargs="+", required=True)
    parser.add_argument("--csv", required=True)
    args = parser.parse_args()
    os.makedirs(args.screenshots, exist_ok=True)
    data = tempfile.mkdtemp(prefix="artworker-browser-")
    downloads = tempfile.mkdtemp(prefix="artworker-downloads-")
    port = free_port()
    server = subprocess.Popen([args.artworker, "serve", "--port", str(port), "--data", data, "--log-level", "warning"],
                              env={**os.environ, "ARTWORKER_BCRYPT_COST": "4"})
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    flow = Flow(base, args.screenshots)
    scratch = tempfile.mkdtemp(prefix="artworker-browser-files-")
    axe = axe_source()

    def axe_check(d, name):
        found = axe_violations(d, axe)
        flow.check(not found, f"axe-core: no serious or critical WCAG 2 A/AA violations on the {name}: {found}")

    driver = browser()
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
    wait = WebDriverWait(driver, 120)
    try:
        print("sign up")
        driver.get(base + "/")
        flow.shot(driver, "home")
        axe_check(driver, "home page")
        driver.find_element(By.LINK_TEXT, "Sign up").click()
        axe_check(driver, "sign-up page")
        driver.find_element(By.NAME, "username").send_keys("satsuki")
        driver.find_element(By.NAME, "password").send_keys("catbus at the bus stop")
        driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").submit()
        wait.until(EC.url_contains("/cartoonize"))  # a new member lands where the product starts
        flow.check("Signed in as" in driver.page_source and "Welcome, satsuki!" in driver.page_source,
                   "signed in and welcomed after sign-up")

        print("cartoonize")
        driver.find_element(By.LINK_TEXT, "Cartoonize").click()
        file_input = driver.find_element(By.NAME, "image")
        # Checked in the browser before anything is sent: an empty file is named as such.
        empty = os.path.join(scratch, "empty.png")
        open(empty, "wb").close()
        file_input.send_keys(empty)
        problem = driver.find_element(By.CSS_SELECTOR, ".file-error")
        flow.check(problem.is_displayed() and "empty.png: the file is empty." in problem.text, f"an empty file is named ({problem.text})")
        flow.check(driver.execute_script("return !arguments[0].checkValidity()", file_input), "and the form will not send it")
        driver.execute_script("arguments[0].value = ''; arguments[0].dispatchEvent(new Event('change'))", file_input)
        # Dropped onto the form: the file input takes it, and a preview appears at once.
        file_input.send_keys(os.path.abspath(args.photo))
        driver.execute_script("""
            const input = arguments[0], drop = document.querySelector('.drop'), dt = new DataTransfer();
            dt.items.add(input.files[0]);
            input.value = '';
            for (const type of ['dragenter', 'dragover', 'drop']) {
              drop.dispatchEvent(new DragEvent(type, {dataTransfer: dt, bubbles: true, cancelable: true}));
            }""", file_input)
        preview = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "ul.previews li img")))
        wait.until(lambda d: loaded(d, preview))
        flow.check(driver.execute_script("return arguments[0].files.length", file_input) == 1 and problem.is_displayed() is False,
                   "a dropped photo is chosen and previewed")
        # Crop 1:1 on the photo turned a quarter: the rectangle travels with the form.
        editor = driver.find_element(By.CSS_SELECTOR, "fieldset.edit")
        wait.until(lambda d: editor.is_displayed())
        driver.find_element(By.CSS_SELECTOR, "button[data-crop=square]").click()
        crop = driver.find_element(By.NAME, "crop")
        flow.check(crop.get_attribute("value") == "100,0,400,400", f"a centred square on the 600×400 photo ({crop.get_attribute('value')})")
        driver.find_element(By.CSS_SELECTOR, "button[data-rotate]").click()
        flow.check(driver.find_element(By.NAME, "rotate").get_attribute("value") == "90" and crop.get_attribute("value") == "",
                   "turning starts the crop again")
        driver.find_element(By.CSS_SELECTOR, "button[data-crop=square]").click()
        frame = driver.find_element(By.CSS_SELECTOR, ".crop-box")
        frame.send_keys(Keys.ARROW_DOWN)  # the keyboard moves the frame by a fiftieth of the long side
        flow.check(crop.get_attribute("value") == "0,112,400,400", f"the frame moves by keyboard ({crop.get_attribute('value')})")
        driver.find_element(By.CSS_SELECTOR, "input[name=style][value=hayao]").click()
        strength = driver.find_element(By.NAME, "strength")
        strength.send_keys(Keys.ARROW_LEFT)  # 100 → 95, shown next to the slider by app.js
        flow.check(driver.find_element(By.CSS_SELECTOR, ".strength-value").text == "95%", "strength slider shows 95%")
        driver.find_element(By.CSS_SELECTOR, "select[name=max_side] option[value='768']").click()
        flow.page_shot(driver, "upload-form")
        axe_check(driver, "upload form")
        driver.find_element(By.CSS_SELECTOR, "form[action='/cartoonize'] button[type=submit]").click()
        wait.until(lambda d: "/jobs/" in d.current_url or "/i/" in d.current_url)
        if "/jobs/" in driver.current_url:
            flow.shot(driver, "progress")
        wait.until(EC.url_contains("/i/"))  # the page follows the job and lands on the result
        image_url = driver.current_url
        figure = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "figure.compare.sliding")))
        before = figure.find_element(By.CSS_SELECTOR, ".before img")
        after = figure.find_element(By.CSS_SELECTOR, ".after img")
        wait.until(lambda d: loaded(d, before) and loaded(d, after))
        size = driver.execute_script("return [arguments[0].naturalWidth, arguments[0].naturalHeight, arguments[1].naturalWidth]", after, before)
        flow.check(size[0] == size[1] == size[2] == 400, f"the result is the square crop, and 'before' is the same size ({size})")
        flow.check("strength 95%" in driver.page_source, "the settings used are shown")
        downloads_link = driver.find_element(By.LINK_TEXT, "Download PNG")
        flow.check(downloads_link.rect["y"] + downloads_link.rect["height"] <= driver.get_window_size()["height"],
                   "the picture fits the window: the downloads are visible without scrolling")
        flow.shot(driver, "result-50")
        divider = figure.find_element(By.CSS_SELECTOR, ".divider[role=slider]")
        for _ in range(15):
            divider.send_keys(Keys.ARROW_RIGHT)
        split = driver.execute_script("return arguments[0].style.getPropertyValue('--split')", figure)
        flow.check(split == "80%" and divider.get_attribute("aria-valuenow") == "80", f"the divider moves by keyboard (now {split})")
        clip = driver.execute_script("return getComputedStyle(arguments[0]).clipPath", after.find_element(By.XPATH, ".."))
        flow.check("80%" in clip, f"the after picture is clipped at the split ({clip})")
        ActionChains(driver).move_to_element_with_offset(figure, -figure.rect["width"] // 4, 0).click_and_hold() \
            .move_by_offset(-20, 0).release().perform()
        split = float(driver.execute_script("return arguments[0].style.getPropertyValue('--split')", figure).rstrip("%"))
        flow.check(15 < split < 30, f"dragging on the picture moves the divider there ({split}%)")
        flow.shot(driver, "result-divider")

        print("reveal modes")
        driver.find_element(By.CSS_SELECTOR, "input[name=reveal][value=scratch]").click()
        canvas = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "figure.compare canvas.scratch")))
        ActionChains(driver).move_to_element(canvas).click_and_hold().move_by_offset(40, 0).move_by_offset(0, 30).release().perform()
        alpha = driver.execute_script("""
            const c = arguments[0], r = c.getBoundingClientRect();
            return c.getContext('2d').getImageData(c.width / 2, c.height / 2, 1, 1).data[3];""", canvas)
        flow.check(alpha == 0, "scratching wipes the cartoon away where it was rubbed")
        flow.shot(driver, "reveal-scratch")
        driver.find_element(By.CSS_SELECTOR, "input[name=reveal][value=hover]").click()
        ActionChains(driver).move_to_element(figure).perform()
        hovered = driver.execute_script("return arguments[0].style.getPropertyValue('--split')", figure)
        ActionChains(driver).move_to_element(driver.find_element(By.TAG_NAME, "h1")).perform()
        away = driver.execute_script("return arguments[0].style.getPropertyValue('--split')", figure)
        flow.check(hovered == "100%" and away == "0%", f"hovering shows the photo, leaving shows the cartoon ({hovered}, {away})")
        driver.find_element(By.CSS_SELECTOR, "input[name=reveal][value=scroll]").click()
        first = driver.execute_script("return arguments[0].style.getPropertyValue('--split')", figure)
        driver.execute_script("window.scrollBy(0, 300)")
        time.sleep(0.3)
        second = driver.execute_script("return arguments[0].style.getPropertyValue('--split')", figure)
        flow.check(first != second, f"scrolling moves the split ({first} → {second})")
        flow.shot(driver, "reveal-scroll")
        driver.execute_script("window.scrollTo(0, 0)")
        driver.find_element(By.CSS_SELECTOR, "input[name=reveal][value=slide]").click()
        axe_check(driver, "result page")

        print("download")
        for link_text, suffix in [("Download PNG", ".png"), ("Download JPEG", ".jpg")]:
            driver.find_element(By.LINK_TEXT, link_text).click()
        files = wait_for_file(downloads, 2, 20)
        flow.check(files == ["coffee-hayao.jpg", "coffee-hayao.png"], f"both downloads arrive with meaningful names: {files}")

        print("rename, share, copy link")
        title = driver.find_element(By.ID, "title")
        title.clear()
        title.send_keys("Coffee at dusk")
        driver.find_element(By.XPATH, "//button[text()='Rename']").click()
        wait.until(lambda d: d.find_element(By.TAG_NAME, "h1").text == "Coffee at dusk — Hayao style")
        flow.check(True, "the owner renames the picture")
        driver.find_element(By.XPATH, "//button[text()='Share in the public gallery']").click()
        wait.until(lambda d: "Unshare" in d.page_source)
        flow.check(driver.find_element(By.CSS_SELECTOR, "meta[property='og:image']").get_attribute("content").endswith("/thumbnail.jpg"),
                   "a shared picture describes itself to link previews")
        driver.execute_cdp_cmd("Browser.grantPermissions", {"origin": base, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
        driver.find_element(By.XPATH, "//button[text()='Copy link']").click()
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, ".permalink .copied").text == "Link copied.")
        copied = driver.execute_async_script("const done = arguments[0]; navigator.clipboard.readText().then(done, e => done(String(e)))")
        flow.check(copied == image_url, f"Copy link puts the permalink on the clipboard ({copied})")
        flow.page_shot(driver, "result-shared")

        print("all four styles")
        driver.get(base + "/cartoonize")
        driver.find_element(By.NAME, "image").send_keys(os.path.abspath(args.photo))
        driver.find_element(By.CSS_SELECTOR, "input[name=style][value=all]").click()
        driver.find_element(By.CSS_SELECTOR, "select[name=max_side] option[value='512']").click()
        driver.find_element(By.CSS_SELECTOR, "form[action='/cartoonize'] button[type=submit]").click()
        wait.until(EC.url_contains("/jobs/"))
        job_url = driver.current_url
        photos = driver.find_elements(By.CSS_SELECTOR, "img.job-photo")
        if photos:
            flow.check(driver.find_element(By.CSS_SELECTOR, "[data-announce]").get_attribute("aria-live") == "polite",
                       "progress is announced to screen readers")
            flow.shot(driver, "progress-four")
        group = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "section.result-group")))
        captions = [c.text for c in group.find_elements(By.TAG_NAME, "figcaption")]
        flow.check(captions == ["Before", "Hayao", "Hosoda", "Paprika", "Shinkai"], f"the photo beside its four styles ({captions})")
        alts = [i.get_attribute("alt") for i in group.find_elements(By.TAG_NAME, "img")][1:]
        flow.check(alts == [f"coffee in the {s} style" for s in ["Hayao", "Hosoda", "Paprika", "Shinkai"]], f"each named in its alt text ({alts})")
        wait.until(lambda d: all(loaded(d, i) for i in group.find_elements(By.TAG_NAME, "img")))
        flow.page_shot(driver, "four-styles")
        for f in os.listdir(downloads):
            os.remove(os.path.join(downloads, f))
        driver.find_element(By.LINK_TEXT, "Download all (ZIP)").click()
        files = wait_for_file(downloads, 1)
        names = sorted(zipfile.ZipFile(os.path.join(downloads, files[0])).namelist()) if files else []
        flow.check(names == [f"coffee-{s}.png" for s in ["hayao", "hosoda", "paprika", "shinkai"]], f"one ZIP with all four ({names})")

        print("gallery: bulk actions")
        driver.find_element(By.LINK_TEXT, "Your gallery").click()
        thumbs = driver.find_elements(By.CSS_SELECTOR, "ul.grid img")
        flow.check(len(thumbs) == 5 and thumbs[0].get_attribute("src").endswith("/thumbnail.jpg"), f"the gallery lists 5 thumbnails ({len(thumbs)})")
        driver.find_element(By.CSS_SELECTOR, ".select-all input").click()
        flow.check(all(b.is_selected() for b in driver.find_elements(By.CSS_SELECTOR, "input[form=bulk]")), "Select all ticks every picture")
        driver.find_element(By.CSS_SELECTOR, "form.bulk button[value=share]").click()
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "ul.grid .likes")) == 5)
        flow.check(True, "all five shared at once")
        driver.find_elements(By.CSS_SELECTOR, "input[form=bulk]")[0].click()  # the newest: a four-style result
        driver.find_element(By.CSS_SELECTOR, "form.bulk button[value=delete]").click()
        wait.until(lambda d: "Delete this picture?" in d.page_source)
        flow.check(True, "deleting asks first, showing the picture")
        flow.shot(driver, "delete-confirm")
        axe_check(driver, "delete confirmation")
        driver.find_element(By.NAME, "confirm").click()
        driver.find_element(By.CSS_SELECTOR, "button.danger").click()
        wait.until(lambda d: d.current_url.endswith("/gallery"))
        flow.check(len(driver.find_elements(By.CSS_SELECTOR, "ul.grid img")) == 4, "and then it is gone")
        flow.shot(driver, "gallery")
        axe_check(driver, "gallery")
        driver.find_element(By.LINK_TEXT, "Explore").click()
        flow.check("by satsuki" in driver.page_source, "the shared picture is in the public gallery with its owner")
        driver.find_element(By.LINK_TEXT, "Hayao").click()
        wait.until(EC.url_contains("style=hayao"))
        metas = [m.text for m in driver.find_elements(By.CSS_SELECTOR, "ul.grid .card-meta")]
        flow.check(metas and all("Hayao" in m for m in metas) and len(metas) < 4, f"/explore filtered by style ({len(metas)})")
        driver.find_element(By.LINK_TEXT, "All").click()
        flow.shot(driver, "explore")
        axe_check(driver, "explore")
        errors = console_errors(driver)
        flow.check(not errors, f"no console errors (CSP included): {errors}")

        print("likes without a reload")
        other = browser()
        try:
            other.get(base + "/signup")
            other.find_element(By.NAME, "username").send_keys("mei")
            other.find_element(By.NAME, "password").send_keys("acorns in the garden")
            other.find_element(By.CSS_SELECTOR, "form button[type=submit]").submit()
            WebDriverWait(other, 30).until(EC.url_contains("/cartoonize"))
            other.set_window_size(1280, 600)
            other.get(base + "/explore")
            card = other.find_elements(By.CSS_SELECTOR, "ul.grid .card")[-1]
            other.execute_script("arguments[0].scrollIntoView(); window.__stayed = true", card)
            scrolled = other.execute_script("return window.scrollY")
            card.find_element(By.CSS_SELECTOR, "form.like button").click()
            WebDriverWait(other, 20).until(lambda d: card.find_element(By.CSS_SELECTOR, ".likes").text.startswith("1"))
            flow.check(other.execute_script("return window.__stayed === true && window.scrollY") == scrolled,
                       "a like counts without leaving the page or its scroll position")
            flow.check(card.find_element(By.CSS_SELECTOR, "form.like button").get_attribute("aria-pressed") == "true", "the button says it is pressed")
            flow.shot(other, "explore-liked")
        finally:
            other.quit()

        print("movies")
        driver.find_element(By.LINK_TEXT, "Movies").click()
        driver.find_element(By.LINK_TEXT, "Add a movie").click()
        driver.find_element(By.NAME, "title").send_keys("Kitchen and cat")
        driver.find_element(By.NAME, "year").send_keys("2026")
        driver.find_element(By.NAME, "director").send_keys("Test frames")
        driver.find_element(By.NAME, "frames").send_keys("\n".join(os.path.abspath(f) for f in args.frames))
        flow.shot(driver, "movie-form")
        driver.find_element(By.CSS_SELECTOR, "form[action='/movies'] button[type=submit]").click()
        # The job page follows the analysis and lands on the movie: wait for the movie's page
        # itself (the address can change before the new page has loaded).
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "ul.swatches li")))
        movie_url = driver.current_url
        flow.check("/movies/" in movie_url and "/jobs/" not in movie_url, f"the job lands on the movie page ({movie_url})")
        swatches = driver.find_elements(By.CSS_SELECTOR, "ul.swatches li")
        flow.check(len(swatches) == 10, f"the dominant palette has 10 colours with percentages ({len(swatches)})")
        scenes = driver.find_elements(By.CSS_SELECTOR, "ol.scenes li")
        flow.check(len(scenes) == len(args.frames), f"one strip per frame ({len(scenes)})")
        thumbs = driver.find_elements(By.CSS_SELECTOR, "ol.scenes img")
        wait.until(lambda d: all(loaded(d, t) for t in thumbs))
        plots = driver.find_elements(By.CSS_SELECTOR, "svg.plot3d")
        flow.check(len(plots) == 2 and all(len(p.find_elements(By.TAG_NAME, "circle")) > 10 for p in plots),
                   "RGB cube and HSV cylinder plots with a dot per colour")
        flow.page_shot(driver, "movie-frames")
        axe_check(driver, "movie page")
        cube = driver.find_element(By.CSS_SELECTOR, "figure.turnable svg.plot3d")
        caption = cube.find_element(By.XPATH, "../figcaption")
        first_caption = caption.text
        dot = cube.find_element(By.CSS_SELECTOR, "circle")
        where = dot.get_attribute("cx")
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", cube)
        ActionChains(driver).move_to_element(cube).click_and_hold().move_by_offset(90, 0).release().perform()
        flow.check(dot.get_attribute("cx") != where and caption.text != first_caption,
                   f"dragging turns the plot and its caption follows ({first_caption!r} → {caption.text!r})")
        cube.send_keys(Keys.ARROW_UP)
        ActionChains(driver).move_to_element(cube.find_elements(By.CSS_SELECTOR, "circle")[-1]).perform()
        readout = cube.find_element(By.XPATH, "../p[contains(@class, 'readout')]").text
        flow.check(readout.startswith("#") and "RGB" in readout and "HSV" in readout, f"pointing at a dot shows its values ({readout})")
        cube.send_keys("n")
        picked = driver.find_elements(By.CSS_SELECTOR, "figure.turnable circle.picked")
        heaviest = max(float(c.get_attribute("r")) for c in cube.find_elements(By.CSS_SELECTOR, "circle"))
        flow.check(len(picked) == 1 and float(picked[0].get_attribute("r")) == heaviest,
                   "N picks the heaviest colour from the keyboard and reads its values out")
        flow.shot(driver, "movie-plot-turned")
        driver.find_element(By.PARTIAL_LINK_TEXT, "Turn right").click()
        wait.until(EC.url_contains("turn=1"))
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "svg.plot3d")))
        flow.check(True, "the plots turn without a script")

        driver.get(base + "/movies/new")
        driver.find_element(By.NAME, "title").send_keys("Paprika")
        driver.find_element(By.NAME, "year").send_keys("2006")
        driver.find_element(By.NAME, "director").send_keys("Satoshi Kon")
        driver.find_element(By.NAME, "csv").send_keys(os.path.abspath(args.csv))
        driver.find_element(By.CSS_SELECTOR, "form[action='/movies'] button[type=submit]").click()
        wait.until(lambda d: "10,110 colours were imported" in d.page_source)
        flow.check(True, "the study's colour file is imported, ungrouped")
        flow.page_shot(driver, "movie-imported")
        driver.find_element(By.LINK_TEXT, "Movies").click()
        # Both movies (and, once the worker has made it, the example movie) with their strips.
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "ul.movie-list svg.strip")) >= 2
                   and "Kitchen and cat" in d.page_source and "Paprika" in d.page_source)
        flow.check(True, "the movie list shows both strips")
        flow.shot(driver, "movies")
        axe_check(driver, "movie list")

        driver.get(image_url)
        flow.check("The nearest movie palette" in driver.page_source, "the result names its nearest movie palette")
        palette = driver.find_element(By.CSS_SELECTOR, ".palette-compare")
        driver.execute_script("arguments[0].scrollIntoView()", palette)
        flow.shot(driver, "result-palette")
        errors = console_errors(driver)
        flow.check(not errors, f"no console errors on the movie pages: {errors}")
        driver.get(movie_url)

        print("한국어")
        driver.find_element(By.CSS_SELECTOR, "header a.language").click()  # the switch on every page
        wait.until(lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ko")
        flow.check(driver.current_url == movie_url, "the switch returns to the page it was used on")
        flow.check("대표 팔레트" in driver.page_source and "3차원으로 본 색" in driver.page_source, "the movie page in Korean")
        flow.page_shot(driver, "ko-movie")
        for path, name, text in [("/", "ko-home", "사진을 애니메이션 그림으로 바꿔 보세요"), ("/explore", "ko-explore", "공개 갤러리"),
                                 ("/gallery", "ko-gallery", "내 갤러리"), ("/movies", "ko-movies", "영화 색채 분석"),
                                 ("/account", "ko-account", "비밀번호 바꾸기"), (image_url, "ko-result", "하야오 화풍")]:
            driver.get(path if path.startswith("http") else base + path)
            flow.check(text in driver.page_source, f"{path} in Korean ({text})")
            flow.shot(driver, name)
        korean_photo = os.path.join(tempfile.mkdtemp(prefix="artworker-ko-"), "우리집 고양이.png")
        shutil.copyfile(args.photo, korean_photo)
        driver.get(base + "/cartoonize")
        flow.check("사진을 만화로 바꾸기" in driver.page_source, "the upload form in Korean")
        driver.find_element(By.NAME, "image").send_keys(korean_photo)
        driver.find_element(By.CSS_SELECTOR, "select[name=max_side] option[value='512']").click()
        flow.shot(driver, "ko-upload-form")
        driver.find_element(By.CSS_SELECTOR, "form[action='/cartoonize'] button[type=submit]").click()
        wait.until(EC.url_contains("/i/"))
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "figure.compare.sliding")))
        heading = driver.find_element(By.TAG_NAME, "h1").text
        flow.check(heading == "우리집 고양이 — 하야오 화풍", f"a Korean file name is the picture's title ({heading})")
        slider = driver.find_element(By.CSS_SELECTOR, "figure.compare .divider")
        flow.check(slider.get_attribute("aria-label") == "변환 전과 후의 경계 옮기기", "the script's words are Korean too")
        made = driver.find_element(By.CSS_SELECTOR, "dl.meta time")
        flow.check(made.get_attribute("title").endswith("UTC") and "UTC" not in made.text,
                   f"dates in the reader's time zone, the UTC form kept as a title ({made.text})")
        flow.shot(driver, "ko-result-upload")
        for f in os.listdir(downloads):
            os.remove(os.path.join(downloads, f))
        driver.find_element(By.LINK_TEXT, "PNG 내려받기").click()
        deadline = time.time() + 20
        while time.time() < deadline and not [f for f in os.listdir(downloads) if not f.endswith(".crdownload")]:
            time.sleep(0.2)
        files = os.listdir(downloads)
        flow.check(files == ["우리집 고양이-hayao.png"], f"the download keeps the Korean name: {files}")
        errors = console_errors(driver)
        flow.check(not errors, f"no console errors in Korean: {errors}")
        driver.get(base + "/language/en?next=/")

        print("a clip")
        clip = os.path.join(tempfile.mkdtemp(prefix="artworker-clip-"), "stripes.gif")
        with open(clip, "wb") as f:
            f.write(animated_gif(48, 32, frames=6))
        driver.get(base + "/cartoonize")
        driver.find_element(By.NAME, "image").send_keys(clip)
        flow.check(driver.find_element(By.CSS_SELECTOR, "select[name=max_side]").get_attribute("value") == "512",
                   "choosing a clip picks the quickest size")
        flow.check(driver.find_element(By.CSS_SELECTOR, ".edit").get_attribute("hidden") is not None, "a clip is not cropped")
        driver.find_element(By.CSS_SELECTOR, "form[action='/cartoonize'] button[type=submit]").click()
        wait.until(EC.url_contains("/i/"))
        videos = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "figure.clip-compare video"))
        flow.check(len(videos) == 2, "the result page shows the clip before and after")
        # Chromium must be able to play what we wrote: metadata loads, it has a size and a length.
        WebDriverWait(driver, 30).until(lambda d: d.execute_script("return arguments[0].readyState", videos[1]) >= 1)
        size = driver.execute_script("return [arguments[0].videoWidth, arguments[0].videoHeight, arguments[0].duration]", videos[1])
        flow.check(size[0] == 48 and size[1] == 32 and abs(size[2] - 0.6) < 0.05, f"the browser plays the MP4 ({size})")
        flow.check(driver.find_elements(By.PARTIAL_LINK_TEXT, "Download GIF"), "a GIF's result downloads as a GIF too")
        flow.shot(driver, "clip-result")
        errors = console_errors(driver)
        flow.check(not errors, f"no console errors on the clip pages: {errors}")

        print("a film's palette from its video")
        # The clip just made is the "film": its MP4 through the movie form, a frame every 0.5 s.
        for f in os.listdir(downloads):
            os.remove(os.path.join(downloads, f))
        driver.find_element(By.PARTIAL_LINK_TEXT, "Download MP4").click()
        files = wait_for_file(downloads, 1, 20)
        flow.check(len(files) == 1 and files[0].endswith(".mp4"), f"the clip downloads as MP4 ({files})")
        film = os.path.join(downloads, files[0])
        driver.get(base + "/movies/new")
        driver.find_element(By.NAME, "title").send_keys("Stripes, the film")
        driver.find_element(By.NAME, "frames").send_keys(film)
        interval = driver.find_element(By.NAME, "interval")
        flow.check(interval.get_attribute("value") == "2", "the interval starts at the colour study's 2 seconds")
        interval.clear()
        interval.send_keys("0.5")
        driver.find_element(By.CSS_SELECTOR, "form[action='/movies'] button[type=submit]").click()
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "ol.scenes li")))
        times = driver.find_elements(By.CSS_SELECTOR, "a.scene-time")
        flow.check(times and times[0].text == "0:00" and len({t.text for t in times}) == len(times),
                   f"each scene shows its time in the film ({[t.text for t in times]})")
        player = driver.find_element(By.CSS_SELECTOR, ".film-player")
        flow.check(player.is_displayed(), "the page offers to play the member's own copy of the film")
        player.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(film)
        video = player.find_element(By.TAG_NAME, "video")
        WebDriverWait(driver, 30).until(lambda d: d.execute_script("return arguments[0].readyState", video) >= 1)
        last = times[-1]
        seconds = float(last.get_attribute("data-seconds"))
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", last)
        last.click()
        wait.until(lambda d: abs(d.execute_script("return arguments[0].currentTime", video) - seconds) < 0.25)
        flow.check(True, f"a scene's time plays the chosen film from there ({seconds} s of {len(times)} scenes)")
        flow.shot(driver, "movie-film")
        errors = console_errors(driver)
        flow.check(not errors, f"no console errors on the film's movie page: {errors}")

        print("examples and the account page")
        driver.get(base + "/account")
        axe_check(driver, "account page")
        driver.get(base + "/")
        WebDriverWait(driver, 300).until(lambda d: (d.refresh() or True) and "/examples/rocket/shinkai.jpg" in d.page_source)
        examples = driver.find_elements(By.CSS_SELECTOR, "figure.example img")
        wait.until(lambda d: all(loaded(d, i) for i in examples))
        flow.check(len(examples) == 20, f"the home page shows four photos, each in four styles, made by the server ({len(examples)})")
        flow.page_shot(driver, "home-examples")
        axe_check(driver, "home page with examples")
        driver.get(base + "/movies")
        flow.check("Artworker examples" in driver.page_source, "and an example movie from the same pictures")

        print("phone")
        phone = browser()
        try:
            phone.set_window_size(390, 844)
            phone.get(base + "/login")
            phone.find_element(By.NAME, "username").send_keys("satsuki")
            phone.find_element(By.NAME, "password").send_keys("catbus at the bus stop")
            phone.find_element(By.CSS_SELECTOR, "form button[type=submit]").submit()
            WebDriverWait(phone, 30).until(lambda d: "/login" not in d.current_url)
            flow.check(not phone.find_element(By.CSS_SELECTOR, "header nav.wide").is_displayed(), "a phone gets the compact menu")
            menu = phone.find_element(By.CSS_SELECTOR, "header details.narrow summary")
            flow.check(menu.size["height"] >= 44, f"the menu button is a 44 px target ({menu.size})")
            menu.click()
            links = phone.find_elements(By.CSS_SELECTOR, "header details.narrow nav a, header details.narrow nav button")
            small = [(l.text, l.size["height"]) for l in links if l.size["height"] < 44]
            flow.check(links and not small, f"its links are 44 px tall ({small})")
            flow.shot(phone, "phone-menu")
            for path, name in [("/", "home"), ("/cartoonize", "upload"), (image_url, "result"), (job_url, "four-styles"),
                               ("/gallery", "gallery"), ("/explore", "explore"), ("/movies", "movies"), (movie_url, "movie"),
                               ("/account", "account"), ("/no-such-page", "not-found")]:
                phone.get(path if path.startswith("http") else base + path)
                flow.page_shot(phone, "phone-" + name)
                width = phone.execute_script("return document.documentElement.scrollWidth")
                flow.check(width <= 390, f"{path}: nothing wider than the phone ({width} px)")
            # The 404 page's own status is logged as an error by the browser: that one is expected.
            errors = [e for e in console_errors(phone) if "/no-such-page " not in e["message"]]
            flow.check(not errors, f"no console errors on the phone: {errors}")
        finally:
            phone.quit()

        print("scripting off")
        plain = browser(scripting=False)
        try:
            plain.get(image_url)
            figure = plain.find_element(By.CSS_SELECTOR, "figure.compare")
            flow.check("sliding" not in figure.get_attribute("class"), "no slider without scripting")
            imgs = figure.find_elements(By.TAG_NAME, "img")
            WebDriverWait(plain, 20).until(lambda d: all(loaded(d, i) for i in imgs))
            a, b = (i.rect for i in imgs)
            flow.check(len(imgs) == 2 and a["x"] + a["width"] <= b["x"] and a["width"] > 100,
                       "both pictures shown side by side without scripting")
            flow.shot(plain, "result-no-script")
        finally:
            plain.quit()
        print("browser test passed")
    except Exception:
        flow.shot(driver, "failure")
        raise
    finally:
        driver.quit()
        server.terminate()
        server.wait(timeout=20)
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(downloads, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
