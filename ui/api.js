// The gateway's JSON for the page, and the token it is asked with: kept in this tab's session
// storage, sent as Authorization: Bearer (fetch) or as the WebSocket bearer subprotocol; never in
// a URL, never in a cookie.
(function () {
  'use strict';
  var KEY = 'execbridge.token';

  function token() { return sessionStorage.getItem(KEY) || ''; }
  function setToken(value) {
    if (value) sessionStorage.setItem(KEY, value); else sessionStorage.removeItem(KEY);
  }

  function headers() {
    var h = { 'Accept': 'application/json' };
    if (token()) h['Authorization'] = 'Bearer ' + token();
    return h;
  }

  // The Status message of a refusal, or the HTTP status line.
  async function failure(response) {
    var text = await response.text();
    try {
      var status = JSON.parse(text);
      if (status && status.message) return new Error(response.status + ': ' + status.message);
    } catch (e) { /* not a Status */ }
    return new Error(response.status + ' ' + response.statusText);
  }

  async function get(path, asText) {
    var response = await fetch('api/' + path, { headers: headers(), credentials: 'omit', cache: 'no-store',
                                                redirect: 'error' });
    if (!response.ok) throw await failure(response);
    return asText ? response.text() : response.json();
  }

  // base64url without padding: a subprotocol token allows no '='.
  function base64url(text) {
    var bytes = new TextEncoder().encode(text);
    var binary = '';
    bytes.forEach(function (b) { binary += String.fromCharCode(b); });
    return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function subprotocols() {
    var list = ['v5.channel.k8s.io'];
    if (token()) list.push('base64url.bearer.authorization.k8s.io.' + base64url(token()));
    return list;
  }

  window.ExecBridgeAPI = {
    token: token,
    setToken: setToken,
    session: function () { return get('session'); },
    pods: function () { return get('pods'); },
    recordings: function () { return get('recordings'); },
    recording: function (id) { return get('recordings/' + encodeURIComponent(id), true); },
    subprotocols: subprotocols
  };
})();
