"""The web terminal (`execbridge serve --ui`) in a real headless Chromium, driven by Selenium.

ui_browser.py --base http://127.0.0.1:PORT --token TOKEN --pod default/web/app --foreign http://127.0.0.1:OTHER
              --shots DIR --report FILE

Signs in, opens a shell in the pod, types `echo ui-$RANDOM; stty size`, reads the answer from the
terminal's text, resizes the window and sees `stty size` change, ends with `exit 3` and sees the exit
code, plays the recording of that session, and loads a page of another origin that opens the same
WebSocket (the gateway must refuse it). One screenshot per step in DIR. Writes key=value lines to
FILE as it goes; exits 0 when every step passed, 1 at the first failure, 3 when Chromium cannot start.
"""
import argparse
import re
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

p = argparse.ArgumentParser()
p.add_argument("--base", required=True)
p.add_argument("--token", required=True)
p.add_argument("--pod", required=True)
p.add_argument("--foreign", required=True)
p.add_argument("--shots", required=True)
p.add_argument("--report", required=True)
p.add_argument("--insecure", action="store_true", help="accept the gateway's self-signed certificate (https base)")
args = p.parse_args()
report = open(args.report, "w")


def say(key, value):
    report.write("%s=%s\n" % (key, str(value).replace("\n", "\\n")))
    report.flush()


def fail(step, why):
    say("failed", step)
    say("why", why)
    sys.exit(1)


def wait_for(what, step, deadline=20):
    end = time.time() + deadline
    while time.time() < end:
        try:
            value = what()
        except WebDriverException:
            value = None
        if value:
            return value
        time.sleep(0.1)
    fail(step, "timed out waiting (status: %r; screen: %r)" % (status(), screen()[-300:]))


options = webdriver.ChromeOptions()
for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1000,700",
             "--no-first-run", "--disable-extensions", "--disable-background-networking", "--disable-sync",
             "--disable-component-update", "--disable-default-apps", "--metrics-recording-only"):
    options.add_argument(flag)
if args.insecure:
    options.add_argument("--ignore-certificate-errors")
options.binary_location = "/usr/bin/chromium"
options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
try:
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
except WebDriverException as error:
    say("chromium", "cannot start: %s" % str(error).splitlines()[0])
    sys.exit(3)
driver.set_page_load_timeout(20)


def js(script, *a):
    return driver.execute_script(script, *a)


def status():
    try:
        return js("return window.execbridgeUI ? execbridgeUI.status() : document.title")
    except WebDriverException:
        return None


def screen():
    try:
        return js("return window.execbridgeUI ? execbridgeUI.screen() : ''") or ""
    except WebDriverException:
        return ""


def shot(name):
    driver.save_screenshot("%s/%s.png" % (args.shots, name))


def type_line(text):
    ActionChains(driver).send_keys(text + "\n").perform()


def stty_after(marker):
    """The `ROWS COLS` line that follows MARKER's own line on the screen."""
    lines = screen().split("\n")
    for i, line in enumerate(lines):
        if line.strip() == marker and i + 1 < len(lines):
            m = re.fullmatch(r"(\d+) (\d+)", lines[i + 1].strip())
            if m:
                return int(m.group(1)), int(m.group(2))
    return None


try:
    namespace, pod, container = args.pod.split("/")
    # 1. sign in
    driver.get(args.base + "/ui/")
    wait_for(lambda: js("return !!window.execbridgeUI"), "page-loaded")
    driver.find_element(By.ID, "token").send_keys(args.token)
    driver.find_element(By.ID, "signin-button").click()
    button = '#pods button[data-target="%s"]' % args.pod
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, button), "pods-listed")
    say("signed_in", driver.find_element(By.ID, "user").text)
    shot("1-signed-in")

    # 2. a shell in the pod (bash, typed in the command field: $RANDOM is bash's); the answer read from the terminal
    field = driver.find_element(By.ID, "command")
    field.clear()
    field.send_keys("bash --norc --noprofile")
    driver.find_element(By.CSS_SELECTOR, button).click()
    wait_for(lambda: js("return execbridgeUI.connected()"), "connected")
    wait_for(lambda: "$" in screen() or "#" in screen(), "prompt")
    marker_cmd = "echo ui-$RANDOM; stty size"
    type_line(marker_cmd)
    found = wait_for(lambda: re.search(r"^(ui-\d+)\s*$", screen(), re.M), "echo-answer")
    marker = found.group(1)
    first = wait_for(lambda: stty_after(marker), "stty-size")
    size = js("return execbridgeUI.size()")
    say("marker", marker)
    say("stty_first", "%d %d" % first)
    say("terminal_first", "%d %d" % (size["rows"], size["cols"]))
    if first != (size["rows"], size["cols"]):
        fail("stty-matches-terminal", "stty size %r, terminal %r" % (first, size))
    shot("2-shell")

    # 3. a bigger window: the terminal follows, the pty too
    driver.set_window_size(1300, 900)
    wait_for(lambda: js("return execbridgeUI.size()")["cols"] > size["cols"], "terminal-resized")
    size2 = js("return execbridgeUI.size()")
    type_line("clear; echo resized-$RANDOM; stty size")
    found = wait_for(lambda: re.search(r"^(resized-\d+)\s*$", screen(), re.M), "echo-after-resize")
    marker2 = found.group(1)
    second = wait_for(lambda: stty_after(marker2), "stty-size-after-resize")
    say("stty_second", "%d %d" % second)
    if second != (size2["rows"], size2["cols"]) or second == first:
        fail("stty-follows-window", "stty size %r after the resize, terminal %r, before %r" % (second, size2, first))
    shot("3-resized")

    # 4. the exit code is shown
    type_line("exit 3")
    wait_for(lambda: js("return execbridgeUI.lastExit()") == 3, "exit-code")
    say("status_at_end", status())
    if "exit code 3" not in status() or "[exit code 3]" not in screen():
        fail("exit-shown", "status %r" % status())
    shot("4-exit-3")

    # 5. the session's recording, played in the same terminal
    driver.find_element(By.ID, "refresh-recordings").click()
    play = "#recordings button[data-recording]"
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, play), "recording-listed")
    say("recordings", len(driver.find_elements(By.CSS_SELECTOR, play)))
    driver.find_elements(By.CSS_SELECTOR, play)[0].click()
    wait_for(lambda: js("return execbridgeUI.player()"), "player-loaded")
    # played to the end: the session's last screen
    wait_for(lambda: not js("return execbridgeUI.player().playing") and stty_after(marker2) == second
             and "exit 3" in screen(), "playback-shows-session")
    # seek to the start: the terminal is drawn again from nothing
    seek = "var s = document.getElementById('seek'); s.value = %d; s.dispatchEvent(new Event('input'));"
    js(seek % 0)
    wait_for(lambda: marker2 not in screen(), "seek-to-start")
    # play at half speed, pause, then seek to the end
    driver.find_element(By.CSS_SELECTOR, '#speed option[value="0.5"]').click()
    driver.find_element(By.ID, "play").click()
    wait_for(lambda: js("return execbridgeUI.player().playing"), "player-playing")
    driver.find_element(By.ID, "play").click()
    wait_for(lambda: not js("return execbridgeUI.player().playing"), "player-paused")
    if "exit 3" in screen():
        fail("player-paused", "paused, yet the recording's end is on the screen: %r" % screen()[-200:])
    js(seek % 1000)
    wait_for(lambda: stty_after(marker2) == second and "exit 3" in screen(), "seek-to-end")
    tabs = js("return execbridgeUI.tabs()")
    if tabs != 2:
        fail("a-tab-per-session", "%d tabs, want 2 (the shell's and the recording's)" % tabs)
    say("played", "yes")
    shot("5-recording")

    # 6. back to the shell's tab: Reconnect runs the same command again there
    driver.find_element(By.CSS_SELECTOR, '#tabs button[data-tab="1"]').click()
    driver.find_element(By.ID, "reconnect").click()
    wait_for(lambda: js("return execbridgeUI.connected()"), "reconnected")
    wait_for(lambda: "$" in screen() or "#" in screen(), "prompt-again")
    type_line("exit 5")
    wait_for(lambda: js("return execbridgeUI.lastExit()") == 5, "exit-code-after-reconnect")
    say("reconnected", status())
    shot("6-reconnected")

    # 7. another origin's page opening the same WebSocket with a valid token: refused
    scheme, gateway = args.base.split("://", 1)
    driver.get("%s/foreign.html#scheme=%s&gateway=%s&token=%s&pod=%s" % (
        args.foreign, "wss" if scheme == "https" else "ws", gateway, args.token, args.pod))
    verdict = wait_for(lambda: js("return document.title.indexOf('verdict:') === 0 ? document.title : ''"),
                       "foreign-verdict")
    say("foreign", verdict)
    shot("7-foreign-origin")
    if verdict != "verdict: refused":
        fail("foreign-refused", verdict)
    say("passed", "yes")
except SystemExit:
    raise
except Exception as error:  # a Selenium error in any step
    fail("exception", "%s: %s" % (type(error).__name__, str(error).splitlines()[0] if str(error) else ""))
finally:
    try:
        with open("%s/browser-console.log" % args.shots, "w") as log:
            for entry in driver.get_log("browser"):
                log.write("%s %s\n" % (entry.get("level"), entry.get("message")))
    except Exception:
        pass
    driver.quit()
