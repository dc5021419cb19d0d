// A small number per object, for cache keys made of objects (the mesh's pods, services, policy
// lists): a push replaces them, so a key never outlives the configuration it was made from.
export class ObjectIds {
  private readonly ids = new WeakMap<object, number>();
  private next = 1;

  /** 0 for none. */
  of(o: object | undefined): number {
    if (o === undefined) return 0;
    let id = this.ids.get(o);
    if (id === undefined) {
      id = this.next++;
      this.ids.set(o, id);
    }
    return id;
  }
}
