/** The README of each client language and of generated/clients/ (generated like the models: no hand edits). */

export interface Verification {
  dir: string;
  language: string;
  compiles: string;
  roundTrip: string;
}

/** What `make test` checks per language (codegen/test/clients/); the README tables are printed from this. */
export const VERIFIED: Verification[] = [
  { dir: 'typescript', language: 'TypeScript (interfaces + union parse functions)', compiles: 'yes: tsc --strict --exactOptionalPropertyTypes, every example typed as its model and union', roundTrip: 'yes, all examples (model and union)' },
  { dir: 'python', language: 'Python (pydantic, package makapix_models)', compiles: 'yes: py_compile + import under -W error, pydantic 1.10 (Debian 12, CI) and 2.13 (a developer machine)', roundTrip: 'yes, all examples (model and union), with pydantic 1.10 and 2.13' },
  { dir: 'java', language: 'Java (Jackson 2, package club.makapix.models)', compiles: 'yes: javac -Xlint:all -Werror (JDK 17, Jackson 2.14)', roundTrip: 'yes, all examples (model and union)' },
  { dir: 'go', language: 'Go (package makapix, standard library only)', compiles: 'yes: go vet (Go 1.19)', roundTrip: 'yes, all examples (model and union)' },
  { dir: 'rust', language: 'Rust (serde, crate makapix_models)', compiles: 'yes: cargo build (rustc 1.63, Debian crates offline)', roundTrip: 'yes, all examples (model and union)' },
  { dir: 'csharp', language: 'C# (Newtonsoft.Json, namespace Makapix.Models)', compiles: 'yes: mcs -langversion:7 -warnaserror (mono 6.8, Json.NET 6.0: Debian 12)', roundTrip: 'yes, all examples through their model (no union types in C#)' },
  { dir: 'cplusplus', language: 'C++ (Modelina, structs only)', compiles: 'yes: g++ -std=c++17 -fsyntax-only -Wall', roundTrip: 'no (no JSON code generated): unverified' },
  { dir: 'kotlin', language: 'Kotlin (Modelina, data classes only)', compiles: 'yes: kotlinc -Werror (Kotlin 1.3, Debian 12)', roundTrip: 'no (no JSON code generated): unverified' },
  { dir: 'php', language: 'PHP (Modelina)', compiles: 'syntax only: php -l', roundTrip: 'no: unverified' },
  { dir: 'dart', language: 'Dart (Modelina, json_serializable preset)', compiles: 'not checked (no Dart SDK in Debian 12)', roundTrip: 'no: unverified' },
];

export function verificationTable(): string[] {
  return [
    '| language (directory) | compiles | every spec example round-trips |',
    '|---|---|---|',
    ...VERIFIED.map((v) => `| ${v.language} (\`generated/clients/${v.dir}/\`) | ${v.compiles} | ${v.roundTrip} |`),
  ];
}

const NOTE = (gen: string) => `<!-- ${gen} Regenerate with \`make clients\`. -->`;

const SHARED = [
  'Topics, QoS and which side sends what are in `spec/asyncapi.yaml`: a player publishes requests on',
  '`makapix/player/{player_key}/request/{request_id}` and reads the reply on',
  '`makapix/player/{player_key}/response/{request_id}`; commands arrive on',
  '`makapix/player/{player_key}/command`. Absent and null are different on the wire and stay different',
  'in these models (see each language below).',
];

export function readmes(gen: string, unions: string[]): Map<string, string> {
  const u = unions.join(', ');
  const m = new Map<string, string>();
  m.set('README.md', [NOTE(gen), '# Client models', '', 'Models of every schema in `spec/` (MQTT messages and REST bodies), generated with', 'Modelina (`codegen/src/clients/`). Unions, one per channel direction, and one per request for its', `reply: ${u}.`, '', ...verificationTable(), '', 'Verified by `codegen/test/clients/*.test.ts` in `make test`.', ''].join('\n'));
  m.set('typescript/README.md', [NOTE(gen), '# TypeScript models', '', 'Interfaces with the wire names, `const` fields as literal types, and a `parse<Union>` function per', 'union that picks the member by its discriminator. Copy `index.ts` into a project (no dependency).', '', ...SHARED, '', '```ts', "import mqtt from 'mqtt';", "import { parsePlayerCommand, type QueryPostsRequest } from './makapix/index.js';", '', 'client.on(\'message\', (topic, payload) => {', '  const cmd = parsePlayerCommand(JSON.parse(payload.toString()));', "  if (cmd.command_type === 'show_artwork') show(cmd.payload);", '});', "const req: QueryPostsRequest = { request_id, request_type: 'query_posts', player_key, limit: 32 };", 'client.publish(`makapix/player/${player_key}/request/${request_id}`, JSON.stringify(req), { qos: 1 });', '```', ''].join('\n'));
  m.set('python/README.md', [NOTE(gen), '# Python models (`makapix_models`)', '', 'pydantic models named as the spec\'s schemas, for pydantic 2 and 1.10 (`make test` round-trips every', 'example with Debian 12\'s pydantic 1.10, and also with the `python3` on PATH when it has another', 'pydantic: 2.13 where they were written). `pip install generated/clients/python`,', 'or put this directory on `sys.path`. `Model.from_dict(data)` / `from_json(text)` read,', '`to_dict()` / `to_json()` write the wire names, leaving out fields that were never set (absent stays', 'absent, null stays null) and always writing `const` fields. `parse_<union>(data)` reads a union.', '', ...SHARED, '', '```python', 'import json', 'import paho.mqtt.client as mqtt', 'from makapix_models import QueryPostsRequest, parse_player_command, ShowArtworkCommand', '', 'def on_message(client, userdata, msg):', '    cmd = parse_player_command(json.loads(msg.payload))', '    if isinstance(cmd, ShowArtworkCommand):', '        show(cmd.payload)', '', "req = QueryPostsRequest(request_id=rid, player_key=key, limit=32)", "client.publish(f'makapix/player/{key}/request/{rid}', req.to_json(), qos=1)", '```', ''].join('\n'));
  m.set('go/README.md', [NOTE(gen), '# Go models (package `makapix`)', '', 'Standard library only. Module path `makapix` (no dot): use it with a `replace` directive:', '', '```', 'require makapix v0.0.0', 'replace makapix => ./path/to/generated/clients/go', '```', '', 'Optional fields are pointers (nil = absent); a required field that may be null is a pointer written', 'as null; an optional field that may also be null is `Nullable[T]` (`Set` false = absent, `Value` nil =', 'null). A union holds its member in `Value` (a pointer to the member struct).', '', ...SHARED, '', '```go', 'client.Subscribe("makapix/player/"+key+"/command", 1, func(_ mqtt.Client, m mqtt.Message) {', '\tvar cmd makapix.PlayerCommand', '\tif err := json.Unmarshal(m.Payload(), &cmd); err != nil { return }', '\tswitch c := cmd.Value.(type) {', '\tcase *makapix.ShowArtworkCommand:', '\t\tshow(c.Payload)', '\t}', '})', 'limit := int64(32)', 'req := makapix.QueryPostsRequest{RequestId: rid, RequestType: "query_posts", PlayerKey: key, Limit: &limit}', 'b, _ := json.Marshal(req)', 'client.Publish("makapix/player/"+key+"/request/"+rid, 1, false, b)', '```', ''].join('\n'));
  m.set('rust/README.md', [NOTE(gen), '# Rust models (crate `makapix_models`)', '', 'serde + serde_json. Add `makapix_models = { path = "path/to/generated/clients/rust" }`.', 'Optional fields are `Option<T>` (None = absent); a required field that may be null is `Option<T>`', 'written as null; an optional one that may also be null is `Option<Option<T>>` (None absent,', '`Some(None)` null). Unions are enums read by their discriminator and written as the member.', '', ...SHARED, '', '```rust', 'use makapix_models::{PlayerCommand, QueryPostsReply};', '', '// rumqttc: on Event::Incoming(Packet::Publish(p))', 'match serde_json::from_slice::<PlayerCommand>(&p.payload)? {', '    PlayerCommand::ShowArtworkCommand(c) => show(&c.payload),', '    _ => {}', '}', 'let reply: QueryPostsReply = serde_json::from_slice(&response.payload)?; // the answer or the ErrorResponse', 'client.publish(topic, QoS::AtLeastOnce, false, serde_json::to_vec(&request)?)?;', '```', ''].join('\n'));
  m.set('java/README.md', [NOTE(gen), '# Java models (package `club.makapix.models`)', '', 'Sources in the Maven layout (`src/main/java`); they need `com.fasterxml.jackson.core:jackson-databind`', '2 (tested with 2.14, Debian 12\'s). Optional fields are left out when null; a required field that may be', 'null is written as null; an optional field that may also be null is a `Nullable<T>` (Java null =', 'absent, `Nullable.ofNull()` = null). A union is an interface its members implement.', '', ...SHARED, '', '```java', 'ObjectMapper mapper = new ObjectMapper();', '// Eclipse Paho: client.subscribe("makapix/player/" + key + "/command", 1, (topic, msg) -> {', 'PlayerCommand cmd = mapper.readValue(msg.getPayload(), PlayerCommand.class);', 'if (cmd instanceof ShowArtworkCommand) show(((ShowArtworkCommand) cmd).getPayload());', '', 'QueryPostsRequest req = new QueryPostsRequest();', 'req.setRequestId(rid); req.setPlayerKey(key); req.setLimit(32L);', 'client.publish("makapix/player/" + key + "/request/" + rid, mapper.writeValueAsBytes(req), 1, false);', '```', ''].join('\n'));
  m.set('csharp/README.md', [NOTE(gen), '# C# models (namespace `Makapix.Models`)', '', 'Plain classes with Newtonsoft.Json (Json.NET) attributes, written for C# 7 and Json.NET 6 (what', 'Debian 12 has: `make test` compiles them with mono\'s mcs and round-trips every example of the spec).', 'Read with `DateParseHandling.None` so strings stay as sent (dates and times are `string`s, as on the', 'wire). Optional fields are left out when null; a required field is always written (null included);', 'an optional field that may also be null has a `<Name>Specified` flag (set when it was on the wire,', 'null included, and by its setter). A `const` field always holds the spec\'s value and refuses another', 'when read. There are no union types: pick the class by the discriminator (`command_type`,', '`request_type`, `success`) and read the JSON into it.', '', ...SHARED, '', '```csharp', 'var settings = new JsonSerializerSettings { DateParseHandling = DateParseHandling.None };', '// MQTTnet: client.ApplicationMessageReceivedAsync += e => {', 'var json = JsonConvert.DeserializeObject<JObject>(e.ApplicationMessage.ConvertPayloadToString(), settings);', 'if ((string)json["command_type"] == "show_artwork") show(json.ToObject<ShowArtworkCommand>().Payload);', '', 'var req = new QueryPostsRequest { RequestId = rid, PlayerKey = key, Limit = 32 };', 'await client.PublishStringAsync($"makapix/player/{key}/request/{rid}", JsonConvert.SerializeObject(req, settings));', '```', ''].join('\n'));
  for (const [dir, name] of [['kotlin', 'Kotlin'], ['dart', 'Dart'], ['cplusplus', 'C++'], ['php', 'PHP']]) {
    const v = VERIFIED.find((x) => x.dir === dir)!;
    m.set(`${dir}/README.md`, [NOTE(gen), `# ${name} models (unverified)`, '', `Printed by Modelina's own ${name} renderer. Compiles: ${v.compiles}. Round trip: ${v.roundTrip}.`, 'Known gaps: fields that may be null are not told apart from absent ones, and the unions are not', 'read by their discriminator. Use them as a starting point; publish and parse JSON with the usual', `${name} MQTT and JSON libraries. ${SHARED.join(' ')}`, ''].join('\n'));
  }
  return m;
}
