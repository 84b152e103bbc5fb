#!/usr/bin/env python3
"""The main flow in a real browser: headless Chromium (Debian's chromium + chromium-driver)
driven by Selenium. Starts `artworker serve` on a free port with a temporary data folder,
signs up, cartoonizes a photo, watches the progress, uses the before/after slider, downloads,
shares, finds the picture in the public gallery, checks the result page with scripting off,
adds a movie from frames and another from a colour file, looks at their palette pages and at
the result's nearest movie, and saves a screenshot of each step.

    python browser_test.py --artworker .build/release/artworker --photo ../shared/testdata/photos/coffee.png \
        --screenshots .build-browser/screenshots --frames ../shared/testdata/photos/*.png \
        --csv ../shared/testdata/palettes/Paprika_BGR.csv
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait


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
    driver = browser()
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
    wait = WebDriverWait(driver, 120)
    try:
        print("sign up")
        driver.get(base + "/")
        flow.shot(driver, "home")
        driver.find_element(By.LINK_TEXT, "Sign up").click()
        driver.find_element(By.NAME, "username").send_keys("satsuki")
        driver.find_element(By.NAME, "password").send_keys("catbus at the bus stop")
        driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").submit()
        wait.until(EC.url_contains("/cartoonize"))  # a new member lands where the product starts
        flow.check("Signed in as" in driver.page_source and "Welcome, satsuki!" in driver.page_source,
                   "signed in and welcomed after sign-up")

        print("cartoonize")
        driver.find_element(By.LINK_TEXT, "Cartoonize").click()
        driver.find_element(By.NAME, "image").send_keys(os.path.abspath(args.photo))
        driver.find_element(By.CSS_SELECTOR, "input[name=style][value=hayao]").click()
        strength = driver.find_element(By.NAME, "strength")
        strength.send_keys(Keys.ARROW_LEFT)  # 100 → 95, shown next to the slider by app.js
        flow.check(driver.find_element(By.CSS_SELECTOR, ".strength-value").text == "95%", "strength slider shows 95%")
        driver.find_element(By.CSS_SELECTOR, "select[name=max_side] option[value='768']").click()
        flow.shot(driver, "upload-form")
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
        flow.check(True, "result page shows both pictures, overlapping, with a slider")
        flow.check("strength 95%" in driver.page_source, "the settings used are shown")
        flow.shot(driver, "result-50")
        slider = figure.find_element(By.CSS_SELECTOR, "input[type=range]")
        for _ in range(30):
            slider.send_keys(Keys.ARROW_RIGHT)
        split = driver.execute_script("return arguments[0].style.getPropertyValue('--split')", figure)
        flow.check(split == "80%", f"the slider moves the split (now {split})")
        clip = driver.execute_script("return getComputedStyle(arguments[0]).clipPath", after.find_element(By.XPATH, ".."))
        flow.check("80%" in clip, f"the after picture is clipped at the split ({clip})")
        flow.shot(driver, "result-80")

        print("download")
        for link_text, suffix in [("Download PNG", ".png"), ("Download JPEG", ".jpg")]:
            driver.find_element(By.LINK_TEXT, link_text).click()
        deadline = time.time() + 20
        while time.time() < deadline and len([f for f in os.listdir(downloads) if not f.endswith(".crdownload")]) < 2:
            time.sleep(0.2)
        files = sorted(os.listdir(downloads))
        flow.check(files == ["coffee-hayao.jpg", "coffee-hayao.png"], f"both downloads arrive with meaningful names: {files}")

        print("share and explore")
        driver.find_element(By.XPATH, "//button[text()='Share in the public gallery']").click()
        wait.until(lambda d: "Unshare" in d.page_source)
        driver.find_element(By.LINK_TEXT, "Your gallery").click()
        thumbs = driver.find_elements(By.CSS_SELECTOR, "ul.grid img")
        flow.check(len(thumbs) == 1 and thumbs[0].get_attribute("src").endswith("/thumbnail.jpg"), "the gallery lists a thumbnail")
        flow.shot(driver, "gallery")
        driver.find_element(By.LINK_TEXT, "Explore").click()
        flow.check("by satsuki" in driver.page_source, "the shared picture is in the public gallery with its owner")
        flow.shot(driver, "explore")
        errors = console_errors(driver)
        flow.check(not errors, f"no console errors (CSP included): {errors}")

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
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "ul.movie-list svg.strip")) == 2)
        flow.check(True, "the movie list shows both strips")
        flow.shot(driver, "movies")

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
        slider = driver.find_element(By.CSS_SELECTOR, "figure.compare input[type=range]")
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


if __name__ == "__main__":
    sys.exit(main())
