"use strict";
// The sign-in pages of the Tapgate dev IdP (the browser sign-in at /authorize and the device
// verification page at /device): asks ENDPOINT/challenge for a WebAuthn challenge for the
// user, runs navigator.credentials.get() and posts the assertion to ENDPOINT/assertion. The
// answer says where to send the browser (`redirect_to`: the client's loopback redirect URI
// with a code or an error) or what to tell the person (`message`: the device page, where
// nothing is sent anywhere). The page's user_code field, when it has one, goes along.
(() => {
  const form = document.getElementById("sign-in");
  const input = document.getElementById("username");
  const go = document.getElementById("go");
  const cancel = document.getElementById("cancel");
  const status = document.getElementById("status");
  const request = form.dataset.request;
  const endpoint = form.dataset.endpoint;
  const userCode = document.getElementById("user_code");
  const withCode = (body) => (userCode ? { ...body, user_code: userCode.value } : body);

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
    if (userCode) userCode.disabled = on;
  };
  // Follow the IdP's answer: another page, or words on this one (the form stays disabled).
  const follow = (answer) => {
    if (answer.redirect_to) {
      window.location.assign(answer.redirect_to);
    } else {
      show(answer.message || "Done.");
    }
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
      const options = (await post(`${endpoint}/challenge`, withCode({ request, username: input.value }))).publicKey;
      options.challenge = fromB64url(options.challenge);
      for (const allowed of options.allowCredentials || []) {
        allowed.id = fromB64url(allowed.id);
      }
      show("Touch your security key…");
      const credential = await navigator.credentials.get({ publicKey: options });
      show("Checking…");
      const response = credential.response;
      const done = await post(`${endpoint}/assertion`, {
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
      follow(done);
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
      follow(await post(`${endpoint}/cancel`, withCode({ request })));
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
