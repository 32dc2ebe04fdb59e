// A CommonJS module table for xterm.js: Debian ships its modules for Node (node-xterm), and the
// gateway serves them wrapped as execbridgeDefine(name, factory) calls (/ui/vendor/xterm.js).
(function () {
  'use strict';
  var factories = Object.create(null);
  var loaded = Object.create(null);

  function resolve(from, path) {
    if (path.charAt(0) !== '.') return path;
    var parts = from.split('/');
    parts.pop();
    path.split('/').forEach(function (part) {
      if (part === '..') parts.pop();
      else if (part !== '.' && part !== '') parts.push(part);
    });
    return parts.join('/');
  }

  function load(name) {
    if (loaded[name]) return loaded[name].exports;
    var factory = factories[name];
    if (!factory) throw new Error('xterm module not found: ' + name);
    var module = { exports: {} };
    loaded[name] = module; // before running it: modules may require each other in a cycle
    factory(function (path) { return load(resolve(name, path)); }, module, module.exports);
    return module.exports;
  }

  window.execbridgeDefine = function (name, factory) { factories[name] = factory; };
  window.execbridgeRequire = load;
})();
