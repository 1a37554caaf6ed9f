package io.rankt5;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * tests/fixtures/demo/hf_scores.jsonl: (query, document) pairs of the demo collection with the score Hugging Face's
 * {@code T5EncoderModel} + the RankT5 head gives them on the demo model (written by models/demo/gen_demo_model.py,
 * which records the versions it ran with in the first line).
 */
public record HfFixture(String qid, String docid, String query, String document, double score) {

  public static List<HfFixture> load() throws IOException {
    ObjectMapper mapper = new ObjectMapper();
    List<HfFixture> out = new ArrayList<>();
    for (String line : Files.readAllLines(TestFiles.demo("hf_scores.jsonl"))) {
      JsonNode n = mapper.readTree(line);
      if (!n.has("score")) {
        continue; // the header line: generator and versions
      }
      // run pairs carry qid/docid; the edge cases (empty texts, long ones) carry a label instead
      String qid = n.has("qid") ? n.get("qid").asText() : "label:" + n.get("label").asText();
      String docid = n.has("docid") ? n.get("docid").asText() : n.get("label").asText();
      out.add(new HfFixture(qid, docid, n.get("query").asText(),
          n.get("document").asText(), n.get("score").asDouble()));
    }
    return out;
  }

  /** The fixture's pairs grouped by query id, in file order. */
  public static Map<String, List<HfFixture>> byQuery(List<HfFixture> all) {
    Map<String, List<HfFixture>> m = new LinkedHashMap<>();
    for (HfFixture f : all) {
      m.computeIfAbsent(f.qid(), k -> new ArrayList<>()).add(f);
    }
    return m;
  }
}
