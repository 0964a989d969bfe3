# The Node SDK's tests (included by the root Makefile): node --test and the
# example's smoke test. Node 18 or newer; without it the target says so and
# skips, except under CI=true, where it fails.
.PHONY: test-sdk-node
test-sdk-node: $(STAMP)
	@if ! node -e 'process.exit(+process.versions.node.split(".")[0] >= 18 ? 0 : 1)' 2>/dev/null; then \
		if [ "$$CI" = "true" ]; then echo "test-sdk-node: Node.js 18 or newer is required (CI=true)" >&2; exit 1; fi; \
		echo "(Node SDK tests skipped: Node.js 18 or newer is not installed)"; exit 0; \
	fi; \
	cd client_sdk/node && PATH="$(CURDIR)/$(BIN):$$PATH" node --test test/ && \
	node --test ../../examples/electron_like/test/
