package dev.netfence.event;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.netfence.json.SchemaValidator;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One JSON Schema from the classpath ({@code schemas/*.json}, packaged from the repository's
 * {@code schemas/} directory): validates documents against it (through {@link SchemaValidator})
 * and exposes the declared JSON type
 * of each top-level property, so the decoder can tell "wrong type" (malformed) from "breaks a
 * rule" (invalid) without a second copy of the field list. Thread-safe once built.
 */
public final class DocumentSchema {
    private final String resource;
    private final SchemaValidator validator;
    private final Map<String, String> propertyTypes;

    private DocumentSchema(String name, String resource, JsonNode schemaNode) {
        this.resource = resource;
        this.validator = new SchemaValidator(name);
        Map<String, String> types = new LinkedHashMap<>();
        Iterator<Map.Entry<String, JsonNode>> it = schemaNode.path("properties").fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> property = it.next();
            JsonNode type = property.getValue().get("type");
            if (type != null && type.isTextual()) {
                types.put(property.getKey(), type.asText());
            }
        }
        this.propertyTypes = Map.copyOf(types);
    }

    /** Loads {@code schemas/<name>} from the classpath; a missing schema is a packaging bug. */
    public static DocumentSchema load(String name) {
        String resource = "schemas/" + name;
        try (InputStream in = DocumentSchema.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("schema not on the classpath: " + resource);
            }
            return new DocumentSchema(name, resource, new ObjectMapper().readTree(in));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read schema " + resource, e);
        }
    }

    /** Every violation of the schema, as readable one-line reasons; empty when valid. */
    public List<String> validate(JsonNode document) {
        return validator.validate(document);
    }

    /**
     * The first top-level property whose value has a JSON type other than the one the schema
     * declares (null values included), as a reason; empty when every present property has its
     * declared type. Properties the schema does not declare are ignored (forward compatible).
     */
    public Optional<String> firstTypeMismatch(JsonNode document) {
        for (Map.Entry<String, String> e : propertyTypes.entrySet()) {
            JsonNode value = document.get(e.getKey());
            if (value != null && !hasType(value, e.getValue())) {
                return Optional.of("field '" + e.getKey() + "' must be " + e.getValue() + ", was "
                        + value.getNodeType().name().toLowerCase(java.util.Locale.ROOT));
            }
        }
        return Optional.empty();
    }

    private static boolean hasType(JsonNode value, String type) {
        return switch (type) {
            case "string" -> value.isTextual();
            // a whole number written as a decimal (12.0) counts; one beyond a double's range (1e400,
            // read as infinity) does not, and neither does NaN: canConvertToExactIntegral answers
            // for every kind of number node without throwing
            case "integer" -> value.isIntegralNumber() || (value.isNumber() && value.canConvertToExactIntegral());
            case "number" -> value.isNumber();
            case "boolean" -> value.isBoolean();
            case "object" -> value.isObject();
            case "array" -> value.isArray();
            case "null" -> value.isNull();
            default -> true;
        };
    }

    @Override
    public String toString() {
        return resource;
    }
}
