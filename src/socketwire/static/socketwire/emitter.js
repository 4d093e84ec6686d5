// The event emitter every client object extends (socket.io-client's component-emitter API).

/** Minimal event emitter. `_fire` dispatches locally (socket.io-client calls it emitReserved). */
export class Emitter {
  _handlers(event, create) {
    if (!this._events) this._events = Object.create(null);
    let list = this._events[event];
    if (!list && create) list = this._events[event] = [];
    return list;
  }

  on(event, fn) {
    this._handlers(event, true).push(fn);
    return this;
  }

  once(event, fn) {
    const wrapper = (...args) => {
      this.off(event, wrapper);
      fn.apply(this, args);
    };
    wrapper.original = fn;
    return this.on(event, wrapper);
  }

  off(event, fn) {
    if (!this._events) return this;
    if (event === undefined) {
      this._events = Object.create(null);
      return this;
    }
    if (fn === undefined) {
      delete this._events[event];
      return this;
    }
    const list = this._events[event];
    if (!list) return this;
    const index = list.findIndex((h) => h === fn || h.original === fn);
    if (index !== -1) list.splice(index, 1);
    if (list.length === 0) delete this._events[event];
    return this;
  }

  listeners(event) {
    return (this._handlers(event, false) || []).slice();
  }

  hasListeners(event) {
    return this.listeners(event).length > 0;
  }

  _fire(event, ...args) {
    const list = this._handlers(event, false);
    if (!list) return this;
    for (const fn of list.slice()) fn.apply(this, args);
    return this;
  }

  emitReserved(event, ...args) {
    return this._fire(event, ...args);
  }
}
for (const [alias, name] of [
  ["addEventListener", "on"],
  ["removeListener", "off"],
  ["removeEventListener", "off"],
  ["removeAllListeners", "off"],
]) {
  Emitter.prototype[alias] = Emitter.prototype[name];
}

/** Subscribes and returns the function that undoes it. */
export function subscribe(target, event, fn) {
  target.on(event, fn);
  return () => target.off(event, fn);
}
