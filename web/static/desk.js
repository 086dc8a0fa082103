// The desk inside Telegram, without Telegram's own script (nothing is loaded from another
// site): Telegram opens a Mini App with its data in the URL's fragment, #tgWebAppData=…
// (the signed initData) and tgWebAppThemeParams (the chat's colours).
(function () {
  "use strict";
  var fragment = new URLSearchParams(window.location.hash.slice(1));

  var theme = fragment.get("tgWebAppThemeParams");
  if (theme) {
    var variables = {
      bg_color: "--bg", secondary_bg_color: "--bg2", text_color: "--fg",
      hint_color: "--muted", link_color: "--link", button_color: "--accent",
      button_text_color: "--accent-fg"
    };
    try {
      var colours = JSON.parse(theme);
      Object.keys(variables).forEach(function (key) {
        if (/^#[0-9a-fA-F]{3,8}$/.test(colours[key] || "")) {
          document.documentElement.style.setProperty(variables[key], colours[key]);
        }
      });
    } catch (ignored) { /* not JSON: keep the desk's own colours */ }
  }

  var initData = fragment.get("tgWebAppData");
  if (!initData || document.body.getAttribute("data-sign-in") !== "telegram") {
    return;
  }
  var progress = document.getElementById("signin-progress");
  var failed = document.getElementById("signin-failed");
  if (progress) { progress.hidden = false; }
  fetch("/auth/telegram", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ initData: initData })
  }).then(function (response) {
    if (!response.ok) { throw new Error(String(response.status)); }
    return response.json();
  }).then(function (answer) {
    window.location.replace(answer.redirect);
  }).catch(function () {
    if (progress) { progress.hidden = true; }
    if (failed) { failed.hidden = false; }
  });
})();
