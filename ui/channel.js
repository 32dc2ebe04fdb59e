// One exec session over the WebSocket channel protocol v5 (docs/websocket.md): binary messages
// whose first byte is the channel — 0 stdin, 1 stdout, 2 stderr, 3 the Status at the end,
// 4 resize ({"Width","Height"}), 255 close signal ([255, 0] ends stdin).
(function () {
  'use strict';

  function execURL(target, argv, tty) {
    var scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    var query = ['container=' + encodeURIComponent(target.container)];
    argv.forEach(function (word) { query.push('command=' + encodeURIComponent(word)); });
    query.push('stdin=true', 'stdout=true', tty ? 'tty=true' : 'stderr=true');
    return scheme + '//' + location.host + '/api/v1/namespaces/' + encodeURIComponent(target.namespace) +
      '/pods/' + encodeURIComponent(target.pod) + '/exec?' + query.join('&');
  }

  // The exit code a v4/v5 Status carries: 0 for Success, the ExitCode cause for a command that
  // failed; null (with the message) when the session failed before or around the command.
  function exitOf(text) {
    var status;
    try { status = JSON.parse(text); } catch (e) { return { code: null, message: 'no exit status received' }; }
    if (status.status === 'Success') return { code: 0, message: '' };
    var causes = (status.details && status.details.causes) || [];
    for (var i = 0; i < causes.length; i++) {
      if (causes[i].reason === 'ExitCode') return { code: parseInt(causes[i].message, 10), message: status.message || '' };
    }
    return { code: null, message: status.message || 'failed' };
  }

  // events: onOpen(), onOutput(text), onEnd({code, message}).
  function ExecChannel(target, argv, tty, events) {
    var encoder = new TextEncoder();
    var decoders = { 1: new TextDecoder(), 2: new TextDecoder() };
    var status = '';
    var statusDecoder = new TextDecoder();
    var ended = false;
    var socket = new WebSocket(execURL(target, argv, tty), ExecBridgeAPI.subprotocols());
    socket.binaryType = 'arraybuffer';

    function send(channel, bytes) {
      if (socket.readyState !== WebSocket.OPEN) return;
      var message = new Uint8Array(bytes.length + 1);
      message[0] = channel;
      message.set(bytes, 1);
      socket.send(message);
    }

    function end(outcome) {
      if (ended) return;
      ended = true;
      events.onEnd(outcome);
    }

    socket.onopen = function () { events.onOpen(socket.protocol); };
    socket.onmessage = function (event) {
      var bytes = new Uint8Array(event.data);
      if (bytes.length === 0) return;
      var channel = bytes[0], payload = bytes.subarray(1);
      if (channel === 1 || channel === 2) events.onOutput(decoders[channel].decode(payload, { stream: true }));
      else if (channel === 3) status += statusDecoder.decode(payload, { stream: true });
    };
    socket.onclose = function (event) {
      if (status) return end(exitOf(status));
      // A refusal before the upgrade (401, 403, 404) reaches a page only as a failed handshake.
      end({ code: null, message: event.code === 1006 ? 'connection refused or lost (the gateway log and audit say why)'
                                                      : 'closed (' + event.code + ')' });
    };

    this.input = function (text) { send(0, encoder.encode(text)); };
    this.resize = function (cols, rows) {
      send(4, encoder.encode(JSON.stringify({ Width: cols, Height: rows })));
    };
    this.closeInput = function () { send(255, new Uint8Array([0])); };
    this.close = function () {
      if (socket.readyState <= WebSocket.OPEN) socket.close(1000);
      end({ code: null, message: 'disconnected' });
    };
  }

  ExecChannel.exitOf = exitOf;
  window.ExecChannel = ExecChannel;
})();
