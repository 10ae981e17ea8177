"""The store's algorithms, written once for both dialects: each module holds the verbs of one
part of the contract (`agentcron.store.base.Store`) as a mixin over `CoreOps`. The rules they
apply (what to fire, whom to wake, what a quota allows) are pure planners in
`agentcron.rules`; a module here reads the rows, asks the planner, and writes its plan in one
transaction."""
