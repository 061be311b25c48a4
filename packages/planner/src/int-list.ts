/** A growable Int32Array: lets the linear passes build CSR arrays without boxed JS arrays. */
export class IntList {
  data = new Int32Array(16);
  length = 0;

  push(x: number): void {
    if (this.length === this.data.length) {
      const grown = new Int32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = x;
  }

  toArray(): Int32Array {
    return this.data.slice(0, this.length);
  }
}
