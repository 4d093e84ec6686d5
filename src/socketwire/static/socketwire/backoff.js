// Reconnection delay: exponential backoff with jitter.

export class Backoff {
  constructor({ min = 100, max = 10000, jitter = 0 } = {}) {
    this.min = min;
    this.max = max;
    this.jitter = jitter > 0 && jitter <= 1 ? jitter : 0;
    this.attempts = 0;
  }

  duration() {
    const base = Math.min(this.max, this.min * Math.pow(2, this.attempts++));
    const spread = base * this.jitter * (Math.random() * 2 - 1);
    return Math.max(0, Math.min(this.max, Math.floor(base + spread)));
  }

  reset() {
    this.attempts = 0;
  }
}
