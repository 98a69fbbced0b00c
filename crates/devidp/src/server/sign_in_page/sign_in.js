"use strict";
// The sign-in page of the Tapgate dev IdP: asks /authorize/challenge for a WebAuthn
// challenge for the user, runs navigator.credentials.get() and posts the assertion to
// /authorize/assertion, which answers with where to send the browser (the client's
// loopback redirect URI with a code, or with an error).
(() => {
  const form = document.getElementById("sign-in");
  const input = document.getElementById("username");
  const go = document.getElementById("go");
  const cancel = document.getElementById("cancel");
  const status = document.getElementById("status");
  const request = form.dataset.request;

  const fromB64url = (text) => {
    const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  };
  const toB64url = (buffer) =>
    btoa(String.fromCharCode(...new Uint8Array(buffer)))
      .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const show = (text, isError) => {
    status.textContent = text;
    status.className = isError ? "error" : "";
  };
  const busy = (on) => {
    go.disabled = on;
    cancel.disabled = on;
    input.disabled = on;
  };
  const post = async (path, body) => {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new Error(answer.error_description || `the IdP answered ${response.status}`);
    }
    return answer;
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    busy(true);
    try {
      show("Preparing the sign-in…");
      const options = (await post("/authorize/challenge", { request, username: input.value })).publicKey;
      options.challenge = fromB64url(options.challenge);
      for (const allowed of options.allowCredentials || []) {
        allowed.id = fromB64url(allowed.id);
      }
      show("Touch your security key…");
      const credential = await navigator.credentials.get({ publicKey: options });
      show("Checking…");
      const response = credential.response;
      const done = await post("/authorize/assertion", {
        request,
        credential: {
          id: credential.id,
          rawId: toB64url(credential.rawId),
          type: credential.type,
          response: {
            clientDataJSON: toB64url(response.clientDataJSON),
            authenticatorData: toB64url(response.authenticatorData),
            signature: toB64url(response.signature),
            userHandle: response.userHandle ? toB64url(response.userHandle) : null,
          },
          extensions: credential.getClientExtensionResults(),
        },
      });
      show("Signed in. Returning to the application…");
      window.location.assign(done.redirect_to);
    } catch (error) {
      show(
        error.name === "NotAllowedError"
          ? "The security key was not used (cancelled or timed out). Try again."
          : `Sign-in failed: ${error.message}`,
        true,
      );
      busy(false);
    }
  });

  cancel.addEventListener("click", async () => {
    busy(true);
    try {
      window.location.assign((await post("/authorize/cancel", { request })).redirect_to);
    } catch (error) {
      show(`Cannot cancel: ${error.message}`, true);
      busy(false);
    }
  });

  if (!window.PublicKeyCredential) {
    show("This browser cannot use security keys (WebAuthn is unavailable).", true);
    go.disabled = true;
  }
})();
