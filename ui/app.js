// The page: sign in, pods, and a tab per live session or played recording (ui/tabs.js).
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var tabs = new Tabs();

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

  // Runs `argv` in `target` in `tab` (a new tab when none is given: Reconnect reuses its own).
  function connect(target, argv, tab) {
    var name = target.namespace + '/' + target.pod + '/' + target.container;
    if (!tab) {
      tab = tabs.open(target.pod + '/' + target.container);
      tab.view.term.on('data', function (data) { if (tab.channel) tab.channel.input(data); });
      tab.view.term.on('resize', function (size) { if (tab.channel) tab.channel.resize(size.cols, size.rows); });
    }
    tab.session = { target: target, argv: argv };
    tab.exit = null;
    tab.view.reset();
    tabs.setStatus(tab, 'connecting to ' + name + '…');
    var channel = new ExecChannel(target, argv, true, {
      onOpen: function () {
        tabs.setStatus(tab, 'connected: ' + name + ' — ' + argv.join(' '));
        var size = tab.view.size();
        channel.resize(size.cols, size.rows);
      },
      onOutput: function (text) { tab.view.write(text); },
      onEnd: function (outcome) {
        if (tab.channel === channel) tab.channel = null;
        tab.exit = outcome.code;
        if (outcome.code !== null) {
          tab.view.write('\r\n[exit code ' + outcome.code + ']\r\n');
          tabs.setStatus(tab, name + ': exit code ' + outcome.code, outcome.code !== 0);
        } else {
          tabs.setStatus(tab, name + ': ' + outcome.message, true);
        }
      }
    });
    tab.channel = channel;
    tabs.changed(tab);
  }

  function openFromFields() {
    var target = { namespace: $('namespace').value.trim() || 'default', pod: $('pod').value.trim(),
                   container: $('container').value.trim() };
    var argv = words($('command').value);
    if (!target.pod || !target.container || argv.length === 0) {
      status('a pod, a container and a command are needed', true);
      return;
    }
    connect(target, argv, null);
  }

  $('open').addEventListener('click', openFromFields);
  $('reconnect').addEventListener('click', function () {
    var tab = tabs.front();
    if (tab && tab.session && !tab.channel) connect(tab.session.target, tab.session.argv, tab);
  });
  $('disconnect').addEventListener('click', function () {
    var tab = tabs.front();
    if (tab && tab.channel) tab.channel.close();
  });
  $('close').addEventListener('click', function () { if (tabs.front()) tabs.close(tabs.front()); });

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
      var cast = Player.parse(text);
      var tab = tabs.open('▶ ' + entry.target.split('/').slice(1).join('/'));
      var front = function () { return tabs.front() === tab; };
      tab.player = new Player(tab.view, cast, {
        onTime: function (position, duration) {
          if (!front()) return;
          $('clock').textContent = position.toFixed(1) + ' / ' + duration.toFixed(1) + ' s';
          if (document.activeElement !== $('seek')) {
            $('seek').value = duration > 0 ? Math.round(position / duration * 1000) : 0;
          }
        },
        onState: function (playing) {
          if (!front()) return;
          $('play').textContent = playing ? 'Pause' : 'Play';
          $('speed').value = String(tab.player ? tab.player.speed() : 1);
        }
      });
      tabs.setStatus(tab, 'recording ' + entry.target + ' — ' + entry.command);
      tab.player.setSpeed(parseFloat($('speed').value));
      tab.player.play();
    }, function (error) { status(error.message, true); });
  }

  function frontPlayer() { var tab = tabs.front(); return tab && tab.player; }

  $('play').addEventListener('click', function () {
    var player = frontPlayer();
    if (!player) return;
    if (player.playing()) player.pause(); else player.play();
  });
  $('speed').addEventListener('change', function () {
    if (frontPlayer()) frontPlayer().setSpeed(parseFloat($('speed').value));
  });
  $('seek').addEventListener('input', function () {
    var player = frontPlayer();
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
    tabs.closeAll();
    ExecBridgeAPI.setToken('');
    location.reload();
  });

  if (ExecBridgeAPI.token()) signIn();

  // For tests and for the curious: the tab in front, its terminal's text and its session's state.
  function front() { return tabs.front(); }
  window.execbridgeUI = {
    screen: function () { return front() ? front().view.text() : ''; },
    size: function () { return front() ? front().view.size() : null; },
    status: function () { return $('status').textContent; },
    lastExit: function () { return front() ? front().exit : null; },
    connected: function () { return !!(front() && front().channel && /^connected/.test(front().status)); },
    player: function () { return front() && front().player && { playing: front().player.playing(), duration: front().player.duration }; },
    tabs: function () { return document.querySelectorAll('#tabs button').length; }
  };
})();
