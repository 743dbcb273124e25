// ATCR web UI behaviour. A file of its own because the Content-Security-Policy
// allows no inline script: copy buttons, and error answers of HTMX partials.
(function () {
  "use strict";

  // Dark and light mode: the system's setting until the visitor picks one
  // with the header's toggle; the choice is kept in localStorage and set
  // as <html data-theme>, which style.css reads.
  var themeKey = "atcr-theme";
  function storedTheme() {
    try { return window.localStorage.getItem(themeKey); } catch (e) { return null; }
  }
  function currentTheme() {
    var t = document.documentElement.getAttribute("data-theme");
    if (t === "dark" || t === "light") {
      return t;
    }
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }
  function showTheme() {
    var btn = document.getElementById("theme-toggle");
    if (!btn) {
      return;
    }
    var dark = currentTheme() === "dark";
    btn.setAttribute("aria-pressed", dark ? "true" : "false");
    btn.textContent = dark ? "Light mode" : "Dark mode";
    btn.setAttribute("aria-label", dark ? "Switch to light mode" : "Switch to dark mode");
  }
  var saved = storedTheme();
  if (saved === "dark" || saved === "light") {
    document.documentElement.setAttribute("data-theme", saved);
  }
  document.addEventListener("DOMContentLoaded", showTheme);
  if (document.readyState !== "loading") {
    showTheme();
  }
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest && ev.target.closest("#theme-toggle");
    if (!btn) {
      return;
    }
    var next = currentTheme() === "dark" ? "light" : "dark";
    document.documentElement.setAttribute("data-theme", next);
    try { window.localStorage.setItem(themeKey, next); } catch (e) { /* private mode: this page only */ }
    showTheme();
  });

  // <button data-copy="text">: put the text on the clipboard.
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest && ev.target.closest("button[data-copy]");
    if (!btn) {
      return;
    }
    copyText(btn.getAttribute("data-copy")).then(
      function () { flash(btn, "Copied"); },
      function () { flash(btn, "Copy failed"); }
    );
  });

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain-http pages (local development) have no Clipboard API.
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "offscreen";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(area);
      if (ok) { resolve(); } else { reject(new Error("copy refused")); }
    });
  }

  function flash(btn, text) {
    if (!btn.hasAttribute("data-label")) {
      btn.setAttribute("data-label", btn.textContent);
    }
    btn.textContent = text;
    window.setTimeout(function () { btn.textContent = btn.getAttribute("data-label"); }, 1500);
  }

  // HTMX leaves 4xx/5xx answers unswapped. Partials answer errors with a
  // friendly fragment (404 nothing there, 502 the PDS did not answer):
  // elements marked data-swap-errors show it.
  document.addEventListener("htmx:beforeSwap", function (ev) {
    var status = ev.detail.xhr ? ev.detail.xhr.status : 0;
    if (status >= 400 && ev.target.closest && ev.target.closest("[data-swap-errors]")) {
      ev.detail.shouldSwap = true;
      ev.detail.isError = false;
    }
  });

  // An avatar the Bluesky CDN cannot serve (a PDS the network does not
  // crawl, or no network) is hidden rather than shown broken. Error events
  // do not bubble: listen in the capture phase, and sweep the images that
  // failed before this deferred script ran.
  function hideMissing(img) {
    if (img && img.tagName === "IMG" && img.classList.contains("avatar")) {
      img.classList.add("avatar-missing");
    }
  }
  document.addEventListener("error", function (ev) { hideMissing(ev.target); }, true);
  document.querySelectorAll("img.avatar").forEach(function (img) {
    if (img.complete && img.naturalWidth === 0) {
      hideMissing(img);
    }
  });

  // The CVE modal: a badge's link loads the table into the <dialog> of
  // the page (hx-target="#vuln-dialog-body"); open it once it is there.
  document.addEventListener("htmx:afterSwap", function (ev) {
    var target = ev.detail && ev.detail.target;
    if (!target || target.id !== "vuln-dialog-body") {
      return;
    }
    var dialog = document.getElementById("vuln-dialog");
    if (dialog && !dialog.open && dialog.showModal) {
      dialog.showModal();
    }
  });
})();
