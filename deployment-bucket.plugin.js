// Completes the framework's deployment bucket (ServerlessDeploymentBucket) with
// `custom.deploymentBucket` from serverless.yml.
//
// osls's `provider.deploymentBucket` covers public-access blocks, versioning and upload
// encryption, but not lifecycle rules, event notifications, access logs, Object Lock or a TLS-only
// policy in the form AWS Control Tower's CT.S3.PR.8 reads. `resources.Resources` would reach only
// the update-stack template, while a first deploy creates the stack from the create-stack
// template (osls lib/plugins/aws/deploy/lib/create-stack.js sends
// provider.coreCloudFormationTemplate), and a Control Tower hook judges that one too. So this
// plugin applies the same properties to both, right after osls builds the core template
// (lib/plugins/aws/package/lib/generate-core-template.js, hook `package:initialize`), and rewrites
// the create-stack file osls wrote there.
'use strict';

const path = require('node:path');

const BUCKET = 'ServerlessDeploymentBucket';
const POLICY = 'ServerlessDeploymentBucketPolicy';

/** Applies `settings` ({Properties, PolicyStatements}) to one template in place. */
function completeDeploymentBucket(template, settings) {
  const bucket = template && template.Resources && template.Resources[BUCKET];
  // A named, existing deployment bucket (provider.deploymentBucket.name): nothing to complete.
  if (!bucket) return false;
  bucket.Properties = { ...bucket.Properties, ...settings.Properties };
  // A switch that is off resolves to null (serverless.yml); osls strips such properties from the
  // update-stack template only (strip-null-props-from-template-resources.js), so do it here too.
  for (const [name, value] of Object.entries(bucket.Properties)) {
    if (value === null) delete bucket.Properties[name];
  }
  const policy = template.Resources[POLICY];
  if (policy && settings.PolicyStatements) {
    policy.Properties.PolicyDocument = {
      Version: '2012-10-17',
      Statement: settings.PolicyStatements,
    };
  }
  return true;
}

class DeploymentBucketPlugin {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'after:package:initialize': () => this.complete() };
  }

  complete() {
    const { service } = this.serverless;
    const settings = service.custom && service.custom.deploymentBucket;
    if (!settings) return;
    const { provider } = service;
    const core = provider.coreCloudFormationTemplate;
    const changed = completeDeploymentBucket(core, settings);
    completeDeploymentBucket(provider.compiledCloudFormationTemplate, settings);
    if (!changed) return;
    const naming = this.serverless.getProvider('aws').naming;
    const file = path.join(
      this.serverless.serviceDir,
      '.serverless',
      naming.getCoreTemplateFileName(),
    );
    this.serverless.utils.writeFileSync(file, core);
  }
}

module.exports = DeploymentBucketPlugin;
module.exports.completeDeploymentBucket = completeDeploymentBucket;
