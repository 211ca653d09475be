/**
 * A database write that fails once, for tests of what a job does after it: a Kysely plugin on the real store
 * that refuses the first UPDATE of `table` setting `column` (before it reaches the database, as a dropped
 * connection would) and lets every other statement through, transactions opened from the handle included.
 */
import {
  ColumnNode,
  ColumnUpdateNode,
  TableNode,
  UpdateQueryNode,
  type KyselyPlugin,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
} from 'kysely';
import type { Store } from '../../src/store/index.js';

export class FailFirstUpdate implements KyselyPlugin {
  /** Whether the failure happened (a test that expects it checks this, so a renamed column cannot hide). */
  fired = false;
  constructor(
    private readonly table: string,
    private readonly column: string,
  ) {}

  /** The store as a job sees it, with this failure armed. */
  on(store: Store): Store {
    return { ...store, db: store.db.withPlugin(this) };
  }

  transformQuery({ node }: PluginTransformQueryArgs) {
    if (
      !this.fired &&
      UpdateQueryNode.is(node) &&
      node.table &&
      TableNode.is(node.table) &&
      node.table.table.identifier.name === this.table &&
      (node.updates ?? []).some(
        (u) => ColumnUpdateNode.is(u) && ColumnNode.is(u.column) && u.column.column.name === this.column,
      )
    ) {
      this.fired = true;
      throw new Error(`injected: the database refused "update ${this.table} set ${this.column}"`);
    }
    return node;
  }

  async transformResult({ result }: PluginTransformResultArgs) {
    return result;
  }
}
