package dev.netfence.enforce;

import dev.netfence.netns.IptablesBackend;
import dev.netfence.nft.InProcessNft;
import dev.netfence.nft.ProcessNft;
import java.util.Objects;

/**
 * The firewall one netfence process writes container rules with, as chosen at its first apply
 * ({@link BackendSelector}): nftables in-process ({@code nft}), nftables through the {@code nft}
 * program ({@code nft-process}), or an iptables variant ({@code iptables-nft},
 * {@code iptables-legacy}). {@link #wire()} is what outcomes report as {@code backend}. Exactly
 * one of the three handles is set.
 */
final class FirewallBackend {
    static final String NFT = "nft";
    static final String NFT_PROCESS = "nft-process";

    private final String wire;
    private final InProcessNft inProcess;
    private final ProcessNft process;
    private final IptablesBackend iptables;

    private FirewallBackend(String wire, InProcessNft inProcess, ProcessNft process, IptablesBackend iptables) {
        this.wire = wire;
        this.inProcess = inProcess;
        this.process = process;
        this.iptables = iptables;
    }

    static FirewallBackend inProcess(InProcessNft nft) {
        return new FirewallBackend(NFT, Objects.requireNonNull(nft, "nft"), null, null);
    }

    static FirewallBackend process(ProcessNft nft) {
        return new FirewallBackend(NFT_PROCESS, null, Objects.requireNonNull(nft, "nft"), null);
    }

    static FirewallBackend iptables(IptablesBackend backend) {
        return new FirewallBackend(backend.wire(), null, null, Objects.requireNonNull(backend, "backend"));
    }

    /** {@code nft}, {@code nft-process}, {@code iptables-nft} or {@code iptables-legacy}. */
    String wire() {
        return wire;
    }

    boolean isNft() {
        return iptables == null;
    }

    /** The in-process nft handle, or null. */
    InProcessNft inProcessNft() {
        return inProcess;
    }

    /** The nft-process handle, or null. */
    ProcessNft processNft() {
        return process;
    }

    /** The iptables variant, or null for the nft backends. */
    IptablesBackend iptablesBackend() {
        return iptables;
    }

    @Override
    public String toString() {
        return wire;
    }
}
