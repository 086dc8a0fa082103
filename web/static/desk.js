// The desk inside Telegram, without Telegram's own script (nothing is loaded from another
// site): Telegram opens a Mini App with its data in the URL's fragment, #tgWebAppData=…
// (the signed initData) and tgWebAppThemeParams (the chat's colours). The fragment is
// there on the first page only, so what later pages need is kept for this tab.
(function () {
  "use strict";
  var KEPT = "desk.telegram";
  var fragment = new URLSearchParams(window.location.hash.slice(1));
  var kept = {};
  try { kept = JSON.parse(window.sessionStorage.getItem(KEPT) || "{}"); } catch (ignored) { kept = {}; }
  if (fragment.get("tgWebAppData") || fragment.get("tgWebAppPlatform")) {
    kept = { inTelegram: true, theme: fragment.get("tgWebAppThemeParams") || kept.theme };
    try { window.sessionStorage.setItem(KEPT, JSON.stringify(kept)); } catch (ignored) { /* private mode */ }
  }

  // The chat's colours replace the desk's own (CSS variables; no inline style).
  if (kept.theme) {
    var variables = {
      bg_color: "--bg", secondary_bg_color: "--bg2", text_color: "--fg",
      hint_color: "--muted", link_color: "--link", button_color: "--accent",
      button_text_color: "--accent-fg"
    };
    try {
      var colours = JSON.parse(kept.theme);
      Object.keys(variables).forEach(function (key) {
        if (/^#[0-9a-fA-F]{3,8}$/.test(colours[key] || "")) {
          document.documentElement.style.setProperty(variables[key], colours[key]);
        }
      });
    } catch (ignored) { /* not JSON: keep the desk's own colours */ }
  }

  // Telegram's back button: shown below the first page, it goes back a page. Events go to
  // the app (TelegramWebviewProxy) or, in a web client's frame, to the frame's parent.
  function post(type, data) {
    if (window.TelegramWebviewProxy) {
      window.TelegramWebviewProxy.postEvent(type, JSON.stringify(data || {}));
    } else if (window.parent !== window) {
      window.parent.postMessage(JSON.stringify({ eventType: type, eventData: data || {} }), "*");
    }
  }
  function received(type) {
    if (type === "back_button_pressed") { window.history.back(); }
  }
  if (kept.inTelegram) {
    window.Telegram = window.Telegram || {};
    window.Telegram.WebView = { receiveEvent: received };
    window.addEventListener("message", function (event) {
      if (!/^https:\/\/([a-z0-9-]+\.)*telegram\.org$/.test(event.origin)) { return; }
      try { received(JSON.parse(event.data).eventType); } catch (ignored) { /* not an event */ }
    });
    var home = window.location.pathname === "/" || window.location.pathname === "/my";
    post("web_app_setup_back_button", { is_visible: !home && window.history.length > 1 });
    post("web_app_ready");
  }

  // A copy button beside each invitation link: on a phone, selecting a long link by hand
  // is fiddly. Where the clipboard is closed (some Telegram apps), the link is selected.
  Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) { return; }
    var label = button.textContent;
    function copied() {
      button.textContent = button.getAttribute("data-copied");
      window.setTimeout(function () { button.textContent = label; }, 2000);
    }
    function selectIt() {
      field.focus();
      field.select();
      try { if (document.execCommand("copy")) { copied(); } } catch (ignored) { /* selected */ }
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(copied, selectIt);
      } else {
        selectIt();
      }
    });
  });

  // Signing in: the Mini App's first page posts the initData, then goes where it is told.
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
