"""Sign in through the login form with Chromium, as a person would; verify_image.sh runs it inside a container's
network namespace. Usage: browser_login.py BASE_URL EMAIL PASSWORD (exit status 0 once the dashboard shows the user)."""

import sys

from playwright.sync_api import expect, sync_playwright

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def main() -> None:
    url, email, password = sys.argv[1:4]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(url + "/login")
        page.get_by_label("البريد الإلكتروني").fill(email)
        page.get_by_label("كلمة المرور").fill(password)
        page.get_by_role("button", name="دخول").click()
        expect(page.get_by_test_id("sidebar").get_by_test_id("user-label")).to_be_visible(timeout=30_000)
        print(f"   signed in; the browser is at {page.url}")
        browser.close()


if __name__ == "__main__":
    main()
