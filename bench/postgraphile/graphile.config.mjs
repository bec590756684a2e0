// PostGraphile 5 as cardcrm's benchmark runs it (bench/postgraphile.py): the recommended
// "amber" preset as it comes, served without GraphiQL, watch mode or explain, the way a
// production deployment would. The connection, schema (`plain`), host and port come from
// the command line.
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";

/** @type {GraphileConfig.Preset} */
const preset = {
  extends: [PostGraphileAmberPreset],
  grafserv: {
    graphqlPath: "/graphql",
    graphiql: false,
    watch: false,
    websockets: false,
  },
  grafast: {
    explain: false,
  },
};

export default preset;
