// Another origin's page: opens the gateway's exec WebSocket with a valid token, as a malicious page
// that learnt one could. The gateway must refuse the upgrade (Origin is not its own).
(function () {
  var params = new URLSearchParams(location.hash.slice(1));
  var gateway = params.get('gateway'), token = params.get('token'), pod = params.get('pod').split('/');
  var b64 = btoa(token).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  var url = (params.get('scheme') || 'ws') + '://' + gateway + '/api/v1/namespaces/' + pod[0] + '/pods/' + pod[1] +
    '/exec?container=' + pod[2] + '&command=echo&command=foreign-ran&stdout=true';
  var opened = false;
  var ws = new WebSocket(url, ['v5.channel.k8s.io', 'base64url.bearer.authorization.k8s.io.' + b64]);
  ws.onopen = function () { opened = true; };
  ws.onclose = function () {
    var verdict = opened ? 'verdict: accepted' : 'verdict: refused';
    document.title = verdict;
    var p = document.getElementById('result');
    if (p) p.textContent = verdict;
  };
})();
