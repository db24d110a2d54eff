// mamori's only script. No inline scripts exist (the CSP forbids them):
// behaviour is attached to data- attributes here. Pages work without it,
// except passkeys, which need the browser's WebAuthn API.
(function () {
  "use strict";

  // Language switch and other selects that submit on change.
  document.querySelectorAll("[data-autosubmit]").forEach(function (el) {
    el.addEventListener("change", function () { el.form.submit(); });
  });

  // Confirmation before destructive actions.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { ev.preventDefault(); }
    });
  });

  // Copy buttons.
  document.querySelectorAll("[data-copy]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var el = document.getElementById(btn.getAttribute("data-copy"));
      if (el && navigator.clipboard) { navigator.clipboard.writeText(el.innerText.trim()); }
    });
  });

  // --- WebAuthn (passkeys) ---
  function b64urlToBuf(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) { s += "="; }
    var bin = atob(s), buf = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { buf[i] = bin.charCodeAt(i); }
    return buf.buffer;
  }
  function bufToB64url(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) { bin += String.fromCharCode(bytes[i]); }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function decodeOptions(pk) {
    pk.challenge = b64urlToBuf(pk.challenge);
    if (pk.user && pk.user.id) { pk.user.id = b64urlToBuf(pk.user.id); }
    ["excludeCredentials", "allowCredentials"].forEach(function (k) {
      (pk[k] || []).forEach(function (c) { c.id = b64urlToBuf(c.id); });
    });
    return pk;
  }
  function encodeCredential(cred) {
    if (typeof cred.toJSON === "function") { return cred.toJSON(); }
    var r = cred.response, out = {
      id: cred.id, rawId: bufToB64url(cred.rawId), type: cred.type,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      response: { clientDataJSON: bufToB64url(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = bufToB64url(r.attestationObject);
      if (r.getTransports) { out.response.transports = r.getTransports(); }
    } else {
      out.response.authenticatorData = bufToB64url(r.authenticatorData);
      out.response.signature = bufToB64url(r.signature);
      if (r.userHandle) { out.response.userHandle = bufToB64url(r.userHandle); }
    }
    return out;
  }
  function post(url, csrf, body, ceremony) {
    var headers = { "X-CSRF-Token": csrf, "Content-Type": "application/json" };
    if (ceremony) { headers["X-Ceremony"] = ceremony; }
    return fetch(url, { method: "POST", headers: headers, body: body ? JSON.stringify(body) : "{}", credentials: "same-origin" })
      .then(function (res) {
        return res.json().then(function (j) {
          if (!res.ok) { throw new Error((j.error && j.error.message) || res.statusText); }
          return j;
        });
      });
  }

  document.querySelectorAll("[data-webauthn]").forEach(function (box) {
    if (!window.PublicKeyCredential) { return; }
    box.hidden = false;
    var mode = box.getAttribute("data-webauthn");
    var csrf = box.getAttribute("data-csrf");
    var errEl = box.querySelector("[data-webauthn-error]");
    var btn = box.querySelector("[data-webauthn-start]");
    btn.addEventListener("click", function () {
      if (errEl) { errEl.hidden = true; }
      btn.disabled = true;
      post(box.getAttribute("data-begin"), csrf).then(function (c) {
        var pk = decodeOptions(c.options.publicKey);
        var p = mode === "register" ? navigator.credentials.create({ publicKey: pk })
                                    : navigator.credentials.get({ publicKey: pk, mediation: c.options.mediation || undefined });
        return p.then(function (cred) {
          var url = box.getAttribute("data-finish");
          if (mode === "register") {
            var name = box.querySelector("[data-webauthn-name]");
            url += (url.indexOf("?") < 0 ? "?" : "&") + "name=" + encodeURIComponent(name ? name.value : "");
          }
          return post(url, csrf, encodeCredential(cred), c.token);
        });
      }).then(function (res) {
        window.location.assign(res.redirect || "/");
      }).catch(function (e) {
        btn.disabled = false;
        if (errEl) { errEl.hidden = false; errEl.setAttribute("data-detail", String(e && e.message || e)); }
      });
    });
  });
})();
