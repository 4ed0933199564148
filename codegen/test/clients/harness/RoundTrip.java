// Round-trip harness of the Java client models (run by codegen/test/clients/java.test.ts): reads
// cases.json, parses every example into its model class (and its union interface) with Jackson, writes it
// back, and prints one JSON line per case and way.
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.File;

public final class RoundTrip {
  public static void main(String[] args) throws Exception {
    ObjectMapper mapper = new ObjectMapper();
    for (JsonNode c : mapper.readTree(new File(args[0]))) {
      emit(mapper, c, "model", c.get("model").asText());
      if (c.hasNonNull("union")) emit(mapper, c, "union", c.get("union").asText());
    }
  }

  private static void emit(ObjectMapper mapper, JsonNode c, String via, String model) throws Exception {
    ObjectNode out = mapper.createObjectNode();
    out.set("id", c.get("id"));
    out.put("via", via);
    try {
      Class<?> cls = Class.forName("club.makapix.models." + model);
      String text = mapper.writeValueAsString(c.get("json"));
      Object parsed = mapper.readValue(text, cls);
      if (!cls.isInstance(parsed)) throw new IllegalStateException("parsed into " + parsed.getClass());
      out.set("json", mapper.readTree(mapper.writeValueAsString(parsed)));
    } catch (Exception e) {
      out.put("error", e.toString());
    }
    System.out.println(mapper.writeValueAsString(out));
  }
}
