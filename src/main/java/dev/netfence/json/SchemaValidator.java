package dev.netfence.json;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.PathType;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Objects;

/**
 * Validates JSON documents against one of netfence's JSON Schema 2020-12 files, loaded from the
 * classpath at {@code /schemas/<name>} (the repository's {@code schemas/} directory, packaged by
 * the pom). The schema files are the single source of truth for document shape, so code never
 * re-implements them. Errors come back as readable strings that start with the JSON path of the
 * offending field in JSONPath form ({@code $.allowedEndpoints[2]: ...}). Instances are immutable and thread-safe; build one per schema and reuse it.
 */
public final class SchemaValidator {
    private final String name;
    private final JsonSchema schema;

    /**
     * Loads {@code /schemas/<name>} from the classpath.
     *
     * @throws IllegalArgumentException when the schema file does not exist
     */
    public SchemaValidator(String name) {
        this.name = Objects.requireNonNull(name, "name");
        String path = "/schemas/" + name;
        JsonSchemaFactory factory = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012);
        SchemaValidatorsConfig config = SchemaValidatorsConfig.builder().pathType(PathType.LEGACY)
                .regularExpressionFactory(EcmaAnchors.INSTANCE).build();
        try (InputStream in = SchemaValidator.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalArgumentException("schema not found on the classpath: " + path);
            }
            this.schema = factory.getSchema(in, config);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read schema " + path, e);
        }
    }

    /** The schema file name this validator was built from, e.g. {@code policy.v1.json}. */
    public String name() {
        return name;
    }

    /**
     * Validates {@code document}; returns one readable message per violation (JSON path of the
     * field, then what is wrong), sorted, or an empty list when the document is valid.
     */
    public List<String> validate(JsonNode document) {
        Objects.requireNonNull(document, "document");
        try {
            return schema.validate(document).stream()
                    .map(ValidationMessage::getMessage)
                    .sorted()
                    .distinct()
                    .toList();
        } catch (RuntimeException e) {
            // the validator throws on some values instead of reporting them (a number beyond a
            // double's range, read as infinity, has no decimal value to compare with a const or a
            // bound): such a document fails validation, it does not escape as an exception
            return List.of("$: the document cannot be validated: " + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : ": " + e.getMessage().lines().findFirst().orElse("")));
        }
    }
}
