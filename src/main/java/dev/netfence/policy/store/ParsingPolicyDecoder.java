package dev.netfence.policy.store;

import dev.netfence.policy.PolicyParser;
import dev.netfence.policy.PolicyValidationException;
import java.util.List;

/**
 * The production {@link PolicyDecoder}: the policy parser's schema and semantic validation, with
 * a refused document kept as {@link StoredPolicy.Invalid} (its reasons end up in the
 * INVALID_POLICY outcome) instead of an exception.
 */
public final class ParsingPolicyDecoder implements PolicyDecoder {
    private final PolicyParser parser = new PolicyParser();

    @Override
    public StoredPolicy decode(byte[] json) {
        try {
            return new StoredPolicy.Valid(parser.parse(json));
        } catch (PolicyValidationException e) {
            return new StoredPolicy.Invalid(e.reasons());
        }
    }
}
