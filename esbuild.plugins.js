// esbuild plugins for serverless-esbuild (custom.esbuild.plugins in serverless.yml).
//
// lazy-credential-chain: the AWS SDK's default credential chain (@aws-sdk/credential-provider-node
// with its SSO/INI/STS/IMDS pieces) is about 350 KB minified, three quarters of the handler
// bundle, and compiling it is most of the module's load time. On Lambda it is never needed: the
// role's credentials are in the environment and lib/credentials.ts reads them directly. So the
// chain is bundled into its own file next to handler.js, and the handler bundle loads it only if
// the environment has no credentials. It is still bundled and pinned by the lockfile, never taken
// from the runtime's SDK.
'use strict';

const path = require('node:path');
const esbuild = require('esbuild');

const CHAIN_PACKAGE = '@aws-sdk/credential-provider-node';
const CHAIN_FILE = 'aws-credential-chain.js';

module.exports = [
  {
    name: 'lazy-credential-chain',
    setup(build) {
      build.onResolve({ filter: /^@aws-sdk\/credential-provider-node$/ }, () => ({
        path: `./${CHAIN_FILE}`,
        external: true,
      }));
      build.onEnd(async (result) => {
        if (result.errors.length > 0) return;
        const { outdir, outfile, target, minify } = build.initialOptions;
        await esbuild.build({
          entryPoints: [require.resolve(CHAIN_PACKAGE)],
          outfile: path.join(outdir ?? path.dirname(outfile), CHAIN_FILE),
          bundle: true,
          platform: 'node',
          format: 'cjs',
          target,
          minify,
          legalComments: 'none',
          logLevel: 'warning',
        });
      });
    },
  },
];
