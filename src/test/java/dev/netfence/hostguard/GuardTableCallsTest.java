package dev.netfence.hostguard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.netfence.core.EnforcementException;
import dev.netfence.core.ErrorCode;
import dev.netfence.netns.LibNftables;
import java.io.IOException;
import org.junit.jupiter.api.Test;

class GuardTableCallsTest {
    /** A host table whose every call fails with {@code message}. */
    private static HostTable failing(String message) {
        return new HostTable() {
            @Override
            public void run(String script) throws IOException {
                throw new IOException(message);
            }

            @Override
            public String list() throws IOException {
                throw new IOException(message);
            }

            @Override
            public String listChain(String chain) throws IOException {
                throw new IOException(message);
            }

            @Override
            public long generation() throws IOException {
                throw new IOException(message);
            }
        };
    }

    @Test
    void aHostTableCallWhoseTurnInLibnftablesNeverCameIsContentionAndAnythingElseUnavailable() {
        String busy = new LibNftables.Busy("a listing").getMessage();
        assertThat(GuardTableCalls.unavailable(new IOException(busy)).code()).isEqualTo(ErrorCode.LOCK_CONTENDED);
        assertThat(GuardTableCalls.unavailable(new IOException("Operation not permitted")).code())
                .isEqualTo(ErrorCode.FIREWALL_UNAVAILABLE);
    }

    @Test
    void everyCallThatCannotReachNftFailsAsUnavailableNamingTheHostGuard() {
        GuardTableCalls calls = new GuardTableCalls(failing("no nft here"));

        assertThatThrownBy(() -> calls.run("flush table netdev netfence")).isInstanceOf(EnforcementException.class)
                .hasMessage("host guard: no nft here")
                .satisfies(e -> assertThat(((EnforcementException) e).code()).isEqualTo(ErrorCode.FIREWALL_UNAVAILABLE));
        assertThatThrownBy(calls::list).isInstanceOf(EnforcementException.class).hasMessage("host guard: no nft here");
        assertThatThrownBy(() -> calls.listChain("veth0")).isInstanceOf(EnforcementException.class)
                .hasMessage("host guard: no nft here");
    }

    @Test
    void aGenerationThatCannotBeAskedIsMinusOneSoTheCallerComparesByListing() {
        assertThat(new GuardTableCalls(failing("EPERM")).generation()).isEqualTo(-1);
    }

    @Test
    void aRefusedScriptStaysRejectedForTheCallerToHandle() {
        GuardTableCalls calls = new GuardTableCalls(new HostTable() {
            @Override
            public void run(String script) throws HostTable.Rejected {
                throw new HostTable.Rejected("Error: syntax");
            }

            @Override
            public String list() {
                return "";
            }

            @Override
            public String listChain(String chain) {
                return "";
            }
        });

        assertThatThrownBy(() -> calls.run("garbage")).isInstanceOf(HostTable.Rejected.class).hasMessage("Error: syntax");
    }
}
