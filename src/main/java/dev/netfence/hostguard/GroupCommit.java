package dev.netfence.hostguard;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.function.Consumer;

/**
 * Writes that take turns under one lock, done a batch at a time (group commit): each caller of
 * {@link #submit} queues its item and takes the lock; the first to get it takes every item queued
 * by then, its own included, hands them in queue order to the batch writer and completes them
 * all, so the callers queued behind it find theirs done when they get the lock and return at
 * once. With one caller at a time every batch holds one item and nothing changes; with many,
 * the fixed cost of a write (for the host guard: nft loading the host table's cache and the
 * kernel committing a transaction) is paid once per batch instead of once per caller, which the
 * lock would otherwise make everyone queue for in turn. An item is never lost: one the batch
 * writer leaves uncompleted fails with an {@link IllegalStateException}, and when the writer
 * throws, every item of the batch not yet completed fails with that throwable. The lock is the
 * monitor given, so a batch is written under the same lock as the owner's other work.
 */
final class GroupCommit<T, R> {
    /** One queued item and its result. */
    static final class Entry<T, R> {
        private final T item;
        private final CompletableFuture<R> result = new CompletableFuture<>();

        private Entry(T item) {
            this.item = item;
        }

        T item() {
            return item;
        }

        void complete(R value) {
            result.complete(value);
        }

        void fail(Throwable failure) {
            result.completeExceptionally(failure);
        }

        boolean done() {
            return result.isDone();
        }
    }

    private final Object lock;
    private final Consumer<List<Entry<T, R>>> writer;
    private final ConcurrentLinkedQueue<Entry<T, R>> queue = new ConcurrentLinkedQueue<>();

    /** Batches written by {@code writer}, under {@code lock}'s monitor. */
    GroupCommit(Object lock, Consumer<List<Entry<T, R>>> writer) {
        this.lock = Objects.requireNonNull(lock, "lock");
        this.writer = Objects.requireNonNull(writer, "writer");
    }

    /** Writes {@code item} (alone or in a batch with others) and returns its result or throws its failure as it was. */
    R submit(T item) {
        Entry<T, R> mine = new Entry<>(Objects.requireNonNull(item, "item"));
        queue.add(mine);
        synchronized (lock) {
            // whoever takes an entry from the queue completes it before giving up the lock, so an
            // entry not yet done now is still queued, behind every entry queued before it
            if (!mine.done()) {
                List<Entry<T, R>> batch = new ArrayList<>();
                for (Entry<T, R> e = queue.poll(); e != null; e = queue.poll()) {
                    batch.add(e);
                }
                try {
                    writer.accept(batch);
                } catch (RuntimeException | Error e) {
                    batch.forEach(entry -> entry.fail(e));
                }
                batch.forEach(entry -> entry.fail(new IllegalStateException("batch writer left an item unwritten")));
            }
        }
        try {
            return mine.result.get();
        } catch (InterruptedException e) {
            throw new IllegalStateException("cannot happen: the result is complete", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(cause);
        }
    }
}
