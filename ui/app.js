// The page: sign in, pods, one terminal for a live session or a recording's playback.
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var view = new TerminalView($('terminal'));
  var live = null;        // the ExecChannel of the running session
  var lastSession = null; // {target, argv}, for Reconnect
  var player = null;
  var lastExit = null;

  function status(text, isError) {
    $('status').textContent = text;
    $('status').className = isError ? 'error' : '';
  }

  // Words of the command field: spaces separate, '…' and "…" quote (no shell is involved).
  function words(text) {
    var out = [], word = null, quote = null;
    for (var i = 0; i < text.length; i++) {
      var c = text.charAt(i);
      if (quote) {
        if (c === quote) quote = null; else word += c;
      } else if (c === '"' || c === "'") {
        quote = c; word = word || '';
      } else if (/\s/.test(c)) {
        if (word !== null) out.push(word);
        word = null;
      } else {
        word = (word || '') + c;
      }
    }
    if (word !== null) out.push(word);
    return out;
  }

  // --- live sessions ------------------------------------------------------------------------------

  view.term.on('data', function (data) { if (live) live.input(data); });
  view.term.on('resize', function (size) { if (live) live.resize(size.cols, size.rows); });

  function stopPlayer() {
    if (player) player.stop();
    player = null;
    $('player').hidden = true;
  }

  function open(target, argv) {
    if (!target.pod || !target.container || argv.length === 0) {
      status('a pod, a container and a command are needed', true);
      return;
    }
    if (live) live.close();
    stopPlayer();
    view.follow(true);
    view.reset();
    lastSession = { target: target, argv: argv };
    lastExit = null;
    var name = target.namespace + '/' + target.pod + '/' + target.container;
    status('connecting to ' + name + '…');
    $('reconnect').hidden = true;
    var channel = new ExecChannel(target, argv, true, {
      onOpen: function () {
        status('connected: ' + name + ' — ' + argv.join(' '));
        $('disconnect').hidden = false;
        var size = view.size();
        channel.resize(size.cols, size.rows);
        view.focus();
      },
      onOutput: function (text) { view.write(text); },
      onEnd: function (outcome) {
        if (live === channel) live = null;
        lastExit = outcome.code;
        $('disconnect').hidden = true;
        $('reconnect').hidden = false;
        if (outcome.code !== null) {
          view.write('\r\n[exit code ' + outcome.code + ']\r\n');
          status(name + ': exit code ' + outcome.code, outcome.code !== 0);
        } else {
          status(name + ': ' + outcome.message, true);
        }
      }
    });
    live = channel;
  }

  function openFromFields() {
    open({ namespace: $('namespace').value.trim() || 'default', pod: $('pod').value.trim(),
           container: $('container').value.trim() }, words($('command').value));
  }

  $('open').addEventListener('click', openFromFields);
  $('reconnect').addEventListener('click', function () {
    if (lastSession) open(lastSession.target, lastSession.argv);
  });
  $('disconnect').addEventListener('click', function () { if (live) live.close(); });

  // --- pods -----------------------------------------------------------------------------------------

  function showPods(list) {
    var ul = $('pods');
    ul.textContent = '';
    list.pods.forEach(function (pod) {
      var li = document.createElement('li');
      li.textContent = pod.namespace + '/' + pod.name + ' ';
      pod.containers.forEach(function (container) {
        var button = document.createElement('button');
        button.type = 'button';
        button.textContent = container;
        button.dataset.target = pod.namespace + '/' + pod.name + '/' + container;
        button.addEventListener('click', function () {
          $('namespace').value = pod.namespace;
          $('pod').value = pod.name;
          $('container').value = container;
          openFromFields();
        });
        li.appendChild(button);
      });
      ul.appendChild(li);
    });
    $('pods-note').textContent = list.inventory
      ? (list.pods.length ? '' : 'no pod you may exec into')
      : 'no inventory: type any pod and container below';
  }

  // --- recordings -----------------------------------------------------------------------------------

  function showRecordings(list) {
    var ul = $('recordings');
    ul.textContent = '';
    if (list.recordings.length === 0) {
      var none = document.createElement('li');
      none.className = 'note';
      none.textContent = 'none yet';
      ul.appendChild(none);
    }
    list.recordings.forEach(function (entry) {
      var li = document.createElement('li');
      var button = document.createElement('button');
      button.type = 'button';
      button.textContent = 'Play';
      button.dataset.recording = entry.id;
      button.addEventListener('click', function () { play(entry); });
      li.appendChild(button);
      li.appendChild(document.createTextNode(new Date(entry.timestamp * 1000).toLocaleString() + ' ' +
                                             entry.target + ' ' + entry.command));
      ul.appendChild(li);
    });
  }

  function loadRecordings() {
    ExecBridgeAPI.recordings().then(showRecordings, function (error) { status(error.message, true); });
  }

  function play(entry) {
    ExecBridgeAPI.recording(entry.id).then(function (text) {
      if (live) live.close();
      stopPlayer();
      view.follow(false);
      var cast = Player.parse(text);
      player = new Player(view, cast, {
        onTime: function (position, duration) {
          $('clock').textContent = position.toFixed(1) + ' / ' + duration.toFixed(1) + ' s';
          if (document.activeElement !== $('seek')) {
            $('seek').value = duration > 0 ? Math.round(position / duration * 1000) : 0;
          }
        },
        onState: function (playing) { $('play').textContent = playing ? 'Pause' : 'Play'; }
      });
      player.setSpeed(parseFloat($('speed').value));
      $('player').hidden = false;
      $('reconnect').hidden = true;
      $('disconnect').hidden = true;
      status('recording ' + entry.target + ' — ' + entry.command);
      player.play();
    }, function (error) { status(error.message, true); });
  }

  $('play').addEventListener('click', function () {
    if (!player) return;
    if (player.playing()) player.pause(); else player.play();
  });
  $('speed').addEventListener('change', function () { if (player) player.setSpeed(parseFloat($('speed').value)); });
  $('seek').addEventListener('input', function () {
    if (player) player.seek($('seek').value / 1000 * player.duration);
  });
  $('refresh-recordings').addEventListener('click', loadRecordings);

  // --- signing in -----------------------------------------------------------------------------------

  function signIn() {
    ExecBridgeAPI.session().then(function (session) {
      $('user').textContent = 'signed in as ' + session.user;
      $('signin').hidden = true;
      $('who').hidden = false;
      $('side').hidden = false;
      $('recordings-section').hidden = !session.recordings;
      status('Pick a pod.');
      view.fit();
      ExecBridgeAPI.pods().then(showPods, function (error) { status(error.message, true); });
      if (session.recordings) loadRecordings();
    }, function (error) {
      ExecBridgeAPI.setToken('');
      status('sign-in failed: ' + error.message, true);
    });
  }

  $('signin').addEventListener('submit', function (event) {
    event.preventDefault();
    ExecBridgeAPI.setToken($('token').value);
    $('token').value = '';
    signIn();
  });
  $('signout').addEventListener('click', function () {
    if (live) live.close();
    stopPlayer();
    ExecBridgeAPI.setToken('');
    location.reload();
  });

  view.fit();
  if (ExecBridgeAPI.token()) signIn();

  // For tests and for the curious: the terminal's text and the session's state.
  window.execbridgeUI = {
    screen: function () { return view.text(); },
    size: function () { return view.size(); },
    status: function () { return $('status').textContent; },
    lastExit: function () { return lastExit; },
    connected: function () { return live !== null && !$('disconnect').hidden; },
    player: function () { return player && { playing: player.playing(), duration: player.duration }; }
  };
})();
